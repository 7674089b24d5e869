"""The series' `patientInfo` object (spec 5.2): only the fields the file actually carries."""

from __future__ import annotations

import re
from datetime import date

from pydicom.dataset import Dataset

from circus_api.imaging.dicom_dates import parse_da
from circus_api.imaging.dicom_values import element_value

_AGE = re.compile(r"(\d{1,3})([DWMY])")
SEXES = frozenset({"F", "M", "O"})


def patient_info(ds: Dataset, warnings: list[str]) -> dict[str, object]:
    """Build patientInfo; values that cannot be used are left out and noted in `warnings`.

    Decision: a sex other than F/M/O is dropped with a warning instead of failing the import
    (CIRCUS fails it): losing the images over an informational field helps nobody, and empty
    or `U` values are common in real archives.
    """
    info: dict[str, object] = {}
    patient_id = _text(ds, "PatientID")
    if patient_id:
        info["patientId"] = patient_id
    name = patient_name(ds)
    if name:
        info["patientName"] = name
    age = patient_age(ds)
    if age is not None:
        info["age"] = age
    birth = parse_da(ds.get("PatientBirthDate"))
    if birth is not None:
        info["birthDate"] = birth.isoformat()
    sex = _text(ds, "PatientSex").upper()
    if sex in SEXES:
        info["sex"] = sex
    elif sex:
        warnings.append(f"patient sex {sex!r} is not F, M or O; left out")
    for key, keyword in (("size", "PatientSize"), ("weight", "PatientWeight")):
        value = element_value(ds[keyword]) if keyword in ds else None
        if isinstance(value, int | float):
            info[key] = value
        elif value is not None:
            warnings.append(f"{keyword} {value!r} is not a number; left out")
    return info


def patient_name(ds: Dataset) -> str:
    """Decoded with the Specific Character Set (pydicom does it; Latin-1 without one), the
    alphabetic/ideographic/phonetic component groups joined with `=`."""
    if "PatientName" not in ds or ds.PatientName is None:
        return ""
    names = ds.PatientName if ds["PatientName"].VM > 1 else [ds.PatientName]
    parts = []
    for name in names:
        groups = [group.strip() for group in name.components]
        while groups and not groups[-1]:
            groups.pop()
        parts.append("=".join(groups))
    return "\\".join(part for part in parts if part)


def patient_age(ds: Dataset) -> int | None:
    """Whole years from Patient's Age, else from the birth date and the study (else series) date."""
    match = _AGE.fullmatch(_text(ds, "PatientAge").upper())
    if match is not None:
        count, unit = int(match.group(1)), match.group(2)
        return {"Y": count, "M": count // 12, "W": count * 7 // 365, "D": count // 365}[unit]
    birth = parse_da(ds.get("PatientBirthDate"))
    on = parse_da(ds.get("StudyDate")) or parse_da(ds.get("SeriesDate"))
    if birth is None or on is None:
        return None
    return _years_between(birth, on)


def _years_between(birth: date, on: date) -> int | None:
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return years if years >= 0 else None


def _text(ds: Dataset, keyword: str) -> str:
    value = element_value(ds[keyword]) if keyword in ds else None
    return str(value).strip() if value is not None else ""
