from __future__ import annotations

from pydicom.dataset import Dataset

from circus_api.imaging.dicom_reading import lenient_values
from circus_api.imaging.patient_info import patient_age, patient_info, patient_name


def dataset(**values: object) -> Dataset:
    """Values as they arrive in real files, invalid ones included."""
    ds = Dataset()
    with lenient_values():
        for keyword, value in values.items():
            setattr(ds, keyword, value)
    return ds


def test_pn_values_print_whole() -> None:
    assert patient_info(dataset(PatientName="Doe^John", PatientID="ID1"), []) == {
        "patientId": "ID1",
        "patientName": "Doe^John",
    }


def test_age_prefers_patients_age() -> None:
    assert patient_age(dataset(PatientAge="041Y", PatientBirthDate="19000101", StudyDate="20200101")) == 41


def test_age_from_birth_date_the_day_before_and_on_the_birthday() -> None:
    assert patient_age(dataset(PatientBirthDate="19800615", StudyDate="20240614")) == 43
    assert patient_age(dataset(PatientBirthDate="19800615", StudyDate="20240615")) == 44


def test_no_age_without_dates_or_with_a_birth_after_the_study() -> None:
    assert patient_age(dataset(PatientBirthDate="19800615")) is None
    assert patient_age(dataset(PatientBirthDate="20300101", StudyDate="20240101")) is None
    assert patient_age(dataset(PatientAge="abc")) is None


def test_multi_valued_names_keep_their_values() -> None:
    assert patient_name(dataset(PatientName=["Doe^John", "Roe^Jane"])) == "Doe^John\\Roe^Jane"


def test_invalid_values_are_left_out_with_warnings() -> None:
    warnings: list[str] = []
    info = patient_info(dataset(PatientSex="X", PatientBirthDate="1980", PatientID="  "), warnings)
    assert info == {}
    assert warnings == ["patient sex 'X' is not F, M or O; left out"]


def test_sex_is_normalised_to_upper_case() -> None:
    assert patient_info(dataset(PatientSex="f"), []) == {"sex": "F"}
