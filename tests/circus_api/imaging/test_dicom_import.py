from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import bson
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from circus_api.imaging.dicom_import import parse_dicom
from circus_api.imaging.errors import DicomImportError
from tests.circus_api.imaging.fixture_files import BRAIN_UID, FOOT_FIRST_UID, HEAD_FIRST_UID, STUDY_UID, fixture_files
from tests.circus_api.imaging.synthetic import make_ct_series


def edited(data: bytes, edit: Callable[[Dataset], None]) -> bytes:
    """The file re-written after `edit` changed its dataset."""
    ds = pydicom.dcmread(io.BytesIO(data))
    edit(ds)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def deleting(*keywords: str) -> Callable[[Dataset], None]:
    def edit(ds: Dataset) -> None:
        for keyword in keywords:
            delattr(ds, keyword)

    return edit


def setting(**values: object) -> Callable[[Dataset], None]:
    def edit(ds: Dataset) -> None:
        for keyword, value in values.items():
            setattr(ds, keyword, value)

    return edit


@pytest.fixture(scope="module")
def ct_slice() -> bytes:
    return make_ct_series(1, size=16).files[1]


# --- the CIRCUS fixture files -------------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "series_uid"), [("head-first", HEAD_FIRST_UID), ("foot-first", FOOT_FIRST_UID)])
def test_fixture_series_parse_with_their_uids_and_instance_numbers(prefix: str, series_uid: str) -> None:
    parsed = [parse_dicom(path) for path in fixture_files(prefix)]
    assert {p.series_uid for p in parsed} == {series_uid}
    assert {p.study_uid for p in parsed} == {STUDY_UID}
    assert [p.instance_number for p in parsed] == list(range(1, 11))
    assert {p.series_fields["modality"] for p in parsed} == {"MR"}
    assert all(p.warnings == [] for p in parsed)


def test_series_fields_of_a_fixture_file(fixture_dicom: Path) -> None:
    fields = parse_dicom(fixture_dicom / "head-first001.dcm").series_fields
    parameters = fields.pop("parameters")
    assert fields == {
        "studyUid": STUDY_UID,
        "width": 320,
        "height": 260,
        "seriesDate": datetime(2018, 2, 16, 9, 36, 47, 829000),
        "modality": "MR",
        "seriesDescription": "head_first",
        "bodyPart": "CHESTABDOMEN",
        "stationName": "AWP",
        "modelName": "Skyra",
        "manufacturer": "SIEMENS",
        "storageId": 0,
        "patientInfo": {
            "patientId": "2018021601",
            "patientName": "TEST^MR1",
            "age": 41,
            "birthDate": "1975-04-01",
            "sex": "M",
        },
    }
    assert isinstance(parameters, dict)
    assert {key: parameters[key] for key in list(parameters)[:4]} == {
        "TransferSyntaxUID": "1.2.840.10008.1.2.1",
        "pixelSpacingX": 1.1875,
        "pixelSpacingY": 1.1875,
        "imagePositionPatientZ": -262.634145736,
    }
    assert parameters["SliceThickness"] == 6.0
    assert parameters["EchoNumbers"] == 1
    assert parameters["AcquisitionMatrix"] == [320, 0, 0, 156]
    assert parameters["ImageOrientationPatient"] == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert parameters["SequenceVariant"] == "SK\\SP"
    assert parameters["PatientPosition"] == "HFS"
    assert parameters["SeriesInstanceUID"] == HEAD_FIRST_UID
    assert "PositionReferenceIndicator" not in parameters  # empty value: undefined, dropped
    assert "BodyPartExamined" in parameters
    assert "Modality" not in parameters  # group 0008 is not copied


def test_the_default_timezone_offset_applies_without_a_timezone_tag(fixture_dicom: Path) -> None:
    parsed = parse_dicom(fixture_dicom / "head-first001.dcm", default_tz_offset_minutes=540)
    assert parsed.series_fields["seriesDate"] == datetime(2018, 2, 16, 0, 36, 47, 829000)


def test_old_style_dates_and_a_single_ct_slice(fixture_dicom: Path) -> None:
    parsed = parse_dicom(fixture_dicom / "CT-MONO2-16-brain.dcm")
    assert parsed.series_uid == BRAIN_UID
    assert parsed.instance_number == 8
    fields = parsed.series_fields
    assert fields["modality"] == "CT"
    assert fields["seriesDate"] == datetime(1999, 5, 5, 10, 52, 34, 530000)  # `1999.05.05`, `10:52:34.53`
    assert fields["seriesDescription"] == ""
    assert fields["bodyPart"] == ""
    assert fields["patientInfo"] == {"patientName": "Anonymized"}


def test_bytes_and_path_give_the_same_result(fixture_dicom: Path) -> None:
    path = fixture_dicom / "foot-first003.dcm"
    assert parse_dicom(path) == parse_dicom(path.read_bytes())


def test_parameters_are_json_and_bson_encodable(fixture_dicom: Path) -> None:
    for name in ("head-first001.dcm", "CT-MONO2-16-brain.dcm"):
        fields = parse_dicom(fixture_dicom / name).series_fields
        json.dumps(fields["parameters"])
        bson.encode({"series": fields})


def test_parameters_drop_sequences_binary_and_private_elements(ct_slice: bytes) -> None:
    def edit(ds: Dataset) -> None:
        code = Dataset()
        code.CodeValue = "113691"
        ds.CTDIPhantomTypeCodeSequence = Sequence([code])  # (0018,9346) SQ
        ds.add_new(0x00181201, "TM", "120000")  # TimeOfLastCalibration: text
        ds.add_new(0x00280008, "IS", "1")  # NumberOfFrames
        ds.add_new(0x00181999, "OB", b"\x00\x01")  # not in the dictionary
        ds.add_new(0x00283006, "US", [1, 2, 3])  # LUTData, numbers
        ds.add_new(0x00281201, "OW", b"\x00\x01")  # RedPaletteColorLookupTableData: binary
        ds.add_new(0x00290010, "LO", "VENDOR")  # private creator
        ds.add_new(0x00291001, "LO", "secret")

    parameters = parse_dicom(edited(ct_slice, edit)).series_fields["parameters"]
    assert isinstance(parameters, dict)
    assert "CTDIPhantomTypeCodeSequence" not in parameters
    assert "RedPaletteColorLookupTableData" not in parameters
    assert parameters["TimeOfLastCalibration"] == "120000"
    assert parameters["NumberOfFrames"] == 1
    assert parameters["LUTData"] == [1, 2, 3]
    assert not any(isinstance(v, bytes) for v in parameters.values())
    assert all(key[0].isalpha() for key in parameters)  # keywords only, no raw tags


def test_malformed_numbers_are_dropped_from_parameters(ct_slice: bytes) -> None:
    kvp = b"\x18\x00\x60\x00DS\x04\x00120 "  # (0018,0060) DS "120 "
    assert kvp in ct_slice
    data = ct_slice.replace(kvp, kvp[:-4] + b"abc ")
    parameters = parse_dicom(data).series_fields["parameters"]
    assert isinstance(parameters, dict)
    assert "KVP" not in parameters
    assert parameters["SliceThickness"] == 1.25


# --- dates and time zones ------------------------------------------------------------------------


def test_timezone_offset_is_hours_times_60_plus_minutes(ct_slice: bytes) -> None:
    # the synthetic series is 2024-01-02 09:35:12.250 at +0900
    assert parse_dicom(ct_slice).series_fields["seriesDate"] == datetime(2024, 1, 2, 0, 35, 12, 250000)
    west = edited(ct_slice, setting(TimezoneOffsetFromUTC="-0530"))
    assert parse_dicom(west).series_fields["seriesDate"] == datetime(2024, 1, 2, 15, 5, 12, 250000)


def test_the_timezone_tag_wins_over_the_default(ct_slice: bytes) -> None:
    parsed = parse_dicom(ct_slice, default_tz_offset_minutes=-60)
    assert parsed.series_fields["seriesDate"] == datetime(2024, 1, 2, 0, 35, 12, 250000)


def test_series_date_falls_back_to_the_study_date_then_null(ct_slice: bytes) -> None:
    no_series = edited(ct_slice, deleting("SeriesDate", "SeriesTime", "TimezoneOffsetFromUTC"))
    assert parse_dicom(no_series).series_fields["seriesDate"] == datetime(2024, 1, 2, 9, 30)
    no_time = edited(no_series, deleting("StudyTime"))
    assert parse_dicom(no_time).series_fields["seriesDate"] == datetime(2024, 1, 2)
    no_date = edited(no_series, deleting("StudyDate"))
    assert parse_dicom(no_date).series_fields["seriesDate"] is None


# --- patient info -----------------------------------------------------------------------------


def patient_of(data: bytes) -> object:
    return parse_dicom(data).series_fields["patientInfo"]


def test_synthetic_patient_info(ct_slice: bytes) -> None:
    # no Patient's Age: computed from the birth date (1980-06-15) and the study date (2024-01-02)
    assert patient_of(ct_slice) == {
        "patientId": "SYN0001",
        "patientName": "Phantom^Water",
        "age": 43,
        "birthDate": "1980-06-15",
        "sex": "O",
    }


@pytest.mark.parametrize(
    ("age", "years"),
    [("041Y", 41), ("018M", 1), ("011M", 0), ("104W", 1), ("052W", 0), ("400D", 1), ("364D", 0), ("000Y", 0)],
)
def test_patient_age_units_are_rounded_down_to_years(ct_slice: bytes, age: str, years: int) -> None:
    info = patient_of(edited(ct_slice, setting(PatientAge=age)))
    assert isinstance(info, dict)
    assert info["age"] == years


def test_age_from_birth_date_uses_the_series_date_without_a_study_date(ct_slice: bytes) -> None:
    data = edited(ct_slice, setting(SeriesDate="20240615"))
    data = edited(data, deleting("StudyDate"))
    info = patient_of(data)
    assert isinstance(info, dict)
    assert info["age"] == 44  # birthday reached on the series date


def test_only_present_patient_fields_are_kept(ct_slice: bytes) -> None:
    data = edited(ct_slice, deleting("PatientID", "PatientName", "PatientBirthDate", "PatientSex"))
    assert patient_of(data) == {}
    blank = edited(ct_slice, setting(PatientID="", PatientName="", PatientSex="", PatientBirthDate=""))
    assert patient_of(blank) == {}


def test_size_and_weight_are_numbers(ct_slice: bytes) -> None:
    info = patient_of(edited(ct_slice, setting(PatientSize="1.72", PatientWeight="65.5")))
    assert isinstance(info, dict)
    assert (info["size"], info["weight"]) == (1.72, 65.5)


def test_a_sex_other_than_f_m_o_is_left_out_with_a_warning(ct_slice: bytes) -> None:
    parsed = parse_dicom(edited(ct_slice, setting(PatientSex="U")))
    patient = parsed.series_fields["patientInfo"]
    assert isinstance(patient, dict)
    assert "sex" not in patient
    assert parsed.warnings == ["patient sex 'U' is not F, M or O; left out"]


@pytest.mark.parametrize(
    ("charset", "name"),
    [
        (["", "ISO 2022 IR 87"], "Yamada^Tarou=山田^太郎=やまだ^たろう"),
        ("ISO_IR 192", "Wang^XiaoDong=王^小東"),
        ("ISO_IR 100", "Buc^Jérôme"),
        ("ISO_IR 144", "Иванов^Иван"),
        (["", "ISO 2022 IR 149"], "Hong^Gildong=洪^吉洞=홍^길동"),
    ],
)
def test_patient_names_are_decoded_with_the_specific_character_set(
    ct_slice: bytes, charset: str | list[str], name: str
) -> None:
    info = patient_of(edited(ct_slice, setting(SpecificCharacterSet=charset, PatientName=name)))
    assert isinstance(info, dict)
    assert info["patientName"] == name


def test_names_without_a_character_set_are_latin_1(ct_slice: bytes) -> None:
    data = edited(ct_slice, deleting("SpecificCharacterSet"))
    latin1 = data.replace(b"Phantom^Water", b"Ph\xe9ntom^Water")  # same length: a raw edit
    info = patient_of(latin1)
    assert isinstance(info, dict)
    assert info["patientName"] == "Phéntom^Water"


def test_trailing_empty_name_components_are_dropped(ct_slice: bytes) -> None:
    info = patient_of(edited(ct_slice, setting(PatientName="Doe^John==")))
    assert isinstance(info, dict)
    assert info["patientName"] == "Doe^John"


@pytest.mark.filterwarnings("ignore:Unknown encoding 'ISO_IR 999'")  # pydicom's, while reading
def test_an_unknown_character_set_fails_the_import(ct_slice: bytes) -> None:
    with pytest.raises(DicomImportError, match="unsupported character set 'ISO_IR 999'"):
        parse_dicom(edited(ct_slice, setting(SpecificCharacterSet="ISO_IR 999")))


# --- rejections ---------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"DICM", b"\x00" * 131 + b"D", b"\x00" * 128 + b"DICX" + b"\x00" * 100])
def test_non_dicom_data_is_refused(data: bytes) -> None:
    with pytest.raises(DicomImportError) as error:
        parse_dicom(data)
    assert error.value.reason == "not a DICOM file"


def test_a_text_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello " * 100)
    with pytest.raises(DicomImportError, match="not a DICOM file"):
        parse_dicom(path)


@pytest.mark.parametrize("keep", [0.99, 0.5, 1700 / 168172])  # in the pixel data / just before it
def test_truncated_files_are_refused(fixture_dicom: Path, keep: float) -> None:
    data = (fixture_dicom / "head-first001.dcm").read_bytes()
    with pytest.raises(DicomImportError, match="truncated"):
        parse_dicom(data[: int(len(data) * keep)])


def test_a_file_cut_inside_the_header_is_refused(fixture_dicom: Path) -> None:
    data = (fixture_dicom / "head-first001.dcm").read_bytes()
    for cut in (140, 400, 1000):
        with pytest.raises(DicomImportError):
            parse_dicom(data[:cut])


@pytest.mark.filterwarnings("ignore:End of file reached")  # pydicom's, while reading
def test_garbage_after_the_preamble_is_refused() -> None:
    with pytest.raises(DicomImportError):
        parse_dicom(b"\x00" * 128 + b"DICM" + b"\xff" * 300)


def test_a_file_without_pixel_data_is_refused(ct_slice: bytes) -> None:
    with pytest.raises(DicomImportError) as error:
        parse_dicom(edited(ct_slice, deleting("PixelData")))
    assert error.value.reason == "no pixel data"


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (deleting("SeriesInstanceUID"), "missing SeriesInstanceUID"),
        (deleting("StudyInstanceUID"), "missing StudyInstanceUID"),
        (setting(SeriesInstanceUID="1.2..3"), "invalid SeriesInstanceUID: '1.2..3'"),
        (setting(SeriesInstanceUID="1." + "2" * 70), "invalid SeriesInstanceUID"),
        (setting(StudyInstanceUID="abc"), "invalid StudyInstanceUID: 'abc'"),
        (deleting("InstanceNumber"), "missing or invalid instance number"),
        (setting(InstanceNumber=""), "missing or invalid instance number"),
        (setting(InstanceNumber=-3), "invalid instance number -3"),
        (deleting("Modality"), "missing modality"),
        (setting(Modality="VERYLONGMOD"), "longer than 10 characters"),
        (deleting("Rows"), "missing image size"),
    ],
)
def test_files_that_break_the_series_rules_are_refused(
    ct_slice: bytes, edit: Callable[[Dataset], None], reason: str
) -> None:
    with pydicom.config.disable_value_validation():
        data = edited(ct_slice, edit)
    with pytest.raises(DicomImportError) as error:
        parse_dicom(data)
    assert reason in error.value.reason
