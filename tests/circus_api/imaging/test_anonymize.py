from __future__ import annotations

import io
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage

from circus_api.imaging.anonymize import anonymize
from circus_api.imaging.dicom_files import is_valid_uid
from circus_api.imaging.dicom_import import parse_dicom
from tests.circus_api.imaging.fixture_files import HEAD_FIRST_UID, STUDY_UID
from tests.circus_api.imaging.synthetic import make_ct_series


def read(data: bytes) -> Dataset:
    return pydicom.dcmread(io.BytesIO(data))


def test_two_files_of_one_series_keep_consistent_new_uids(fixture_dicom: Path) -> None:
    uid_map: dict[str, str] = {}
    first = read(anonymize(fixture_dicom / "head-first001.dcm", uid_map))
    second = read(anonymize(fixture_dicom / "head-first002.dcm", uid_map))
    for ds in (first, second):
        assert ds.SeriesInstanceUID == uid_map[HEAD_FIRST_UID]
        assert ds.StudyInstanceUID == uid_map[STUDY_UID]
        assert is_valid_uid(ds.SeriesInstanceUID) and is_valid_uid(ds.StudyInstanceUID)
        assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
    assert first.FrameOfReferenceUID == second.FrameOfReferenceUID != (
        "1.3.12.2.1107.5.2.19.145427.2.20180216093331669.0.0.0"
    )
    assert first.SOPInstanceUID != second.SOPInstanceUID
    assert first.SOPClassUID == second.SOPClassUID == "1.2.840.10008.5.1.4.1.1.4"  # a class UID stays
    assert first.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert HEAD_FIRST_UID not in uid_map.values()


def test_personal_data_is_removed(fixture_dicom: Path) -> None:
    original = read((fixture_dicom / "head-first001.dcm").read_bytes())
    ds = read(anonymize(fixture_dicom / "head-first001.dcm", {}))
    assert ds.PatientName == ""
    assert ds.PatientID == ""
    assert ds.PatientBirthDate == ""
    assert ds.AccessionNumber == ""
    for keyword in ("InstitutionName", "PerformingPhysicianName", "StationName", "DeviceSerialNumber",
                    "PatientAddress"):
        assert keyword in original
        assert keyword not in ds
    assert ds.PatientIdentityRemoved == "YES"
    assert "basic profile" in ds.DeidentificationMethod[0]
    # retained: patient characteristics, dates, descriptions, image data
    assert (ds.PatientSex, ds.PatientAge) == ("M", "041Y")
    assert ds.StudyDate == original.StudyDate
    assert ds.SeriesDescription == "head_first"
    assert ds.PixelData == original.PixelData


def test_the_anonymised_file_still_imports_with_blank_patient_info(fixture_dicom: Path) -> None:
    parsed = parse_dicom(anonymize(fixture_dicom / "head-first001.dcm", {}))
    assert parsed.instance_number == 1
    assert parsed.series_fields["patientInfo"] == {"age": 41, "sex": "M"}


def test_nested_and_private_elements() -> None:
    series = make_ct_series(1, size=8)
    ds = read(series.files[1])
    referenced = Dataset()
    referenced.ReferencedSOPClassUID = CTImageStorage
    referenced.ReferencedSOPInstanceUID = "1.2.3.4.5"
    referenced.OperatorsName = "Nested^Operator"
    ds.ReferencedImageSequence = Sequence([referenced])
    ds.add_new(0x00090010, "LO", "VENDOR")
    ds.add_new(0x00091001, "LO", "private identifying note")
    uid_map: dict[str, str] = {}
    out = read(anonymize(ds, uid_map))
    item = out.ReferencedImageSequence[0]
    assert item.ReferencedSOPInstanceUID == uid_map["1.2.3.4.5"]
    assert item.ReferencedSOPClassUID == CTImageStorage
    assert "OperatorsName" not in item
    assert not any(elem.tag.is_private for elem in out)
    # the caller's dataset is left alone
    assert ds.PatientName == "Phantom^Water" and 0x00091001 in ds
