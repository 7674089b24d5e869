"""One uploaded DICOM file -> the identifiers and series fields of spec 5.2.

Only the header is parsed (pydicom stops before the pixel data); the pixel data element is then
checked by hand for presence and completeness, so a truncated upload is refused at import
instead of failing later in a viewer or a plug-in job.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

from pydicom import charset
from pydicom.datadict import keyword_for_tag, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian

from circus_api.imaging.dicom_dates import tz_offset_minutes, utc_datetime
from circus_api.imaging.dicom_files import is_valid_uid
from circus_api.imaging.dicom_reading import has_dicm_prefix, lenient_values, read_dataset
from circus_api.imaging.dicom_values import JsonValue, element_value
from circus_api.imaging.errors import DicomImportError, DicomReadError
from circus_api.imaging.patient_info import patient_info

MAX_MODALITY_LENGTH = 10
PARAMETER_GROUPS = frozenset({0x0018, 0x0020, 0x0028})
_PIXEL_DATA = (0x7FE0, 0x0010)
_UNDEFINED_LENGTH = 0xFFFFFFFF
_SEQUENCE_DELIMITER = b"\xfe\xff\xdd\xe0"  # (FFFE,E0DD), little endian


@dataclass(frozen=True)
class ParsedInstance:
    """An importable file's identifiers, checked; the series fields are derived when first asked.

    An import needs the series fields of one file per new series only, and deriving them (patient
    info, every parameter element) costs more than parsing the header, so it waits.
    """

    series_uid: str
    study_uid: str
    instance_number: int
    width: int
    height: int
    modality: str
    dataset: Dataset = field(repr=False, compare=False)
    default_tz_offset_minutes: int = 0

    @cached_property
    def _derived(self) -> tuple[dict[str, object], list[str]]:
        with lenient_values():
            return _series_fields(self)

    @property
    def series_fields(self) -> dict[str, object]:
        """The spec 5.2 series document fields a first import derives from this file; the caller
        adds seriesUid, images and domain."""
        return self._derived[0]

    @property
    def warnings(self) -> list[str]:
        """Values left out of series_fields (e.g. an invalid patient sex), worth a log line."""
        return self._derived[1]


def parse_dicom(source: bytes | Path, default_tz_offset_minutes: int = 0) -> ParsedInstance:
    """Parse an uploaded file; DicomImportError(reason) when it cannot be imported."""
    with _opened(source) as (fp, size), lenient_values():
        if not has_dicm_prefix(fp.read(132)):
            raise DicomImportError("not a DICOM file")
        fp.seek(0)
        try:
            ds = read_dataset(fp, stop_before_pixels=True)
        except DicomReadError as exc:
            raise DicomImportError(str(exc)) from exc
        _check_complete(ds)
        _check_pixel_data(ds, fp, size)
        return _parsed(ds, default_tz_offset_minutes)


@contextmanager
def _opened(source: bytes | Path) -> Iterator[tuple[BinaryIO, int]]:
    if isinstance(source, bytes):
        yield io.BytesIO(source), len(source)
        return
    with open(source, "rb") as fp:
        yield fp, os.fstat(fp.fileno()).st_size


def _check_complete(ds: Dataset) -> None:
    """pydicom silently returns a short value at end of file; a short value means truncation.

    Elements are read one after the other, so only the last one read can be short."""
    elem = _last_element(ds)
    if (
        isinstance(elem, RawDataElement)
        and elem.length != _UNDEFINED_LENGTH
        and elem.value is not None
        and len(elem.value) < elem.length
    ):
        raise DicomImportError("truncated DICOM file")


def _last_element(ds: Dataset) -> object:
    """The element read last (the dataset keeps them in the order read), without converting it."""
    tags = list(ds.keys())
    return ds.get_item(tags[-1]) if tags else None


def _check_pixel_data(ds: Dataset, fp: BinaryIO, size: int) -> None:
    """`fp` stands where pydicom stopped: at the Pixel Data element if there is one."""
    if ds.file_meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian:
        # positions refer to the inflated stream; read it all instead (rare syntax)
        fp.seek(0)
        if "PixelData" not in read_dataset(fp):
            raise DicomImportError("no pixel data")
        return
    is_implicit, is_little = ds.original_encoding
    endian = "<" if is_little is not False else ">"
    start = fp.tell()
    head = fp.read(12)
    if len(head) < 8 or struct.unpack(f"{endian}HH", head[0:4]) != _PIXEL_DATA:
        raise DicomImportError("truncated DICOM file" if _ends_early(ds, size) else "no pixel data")
    if is_implicit:
        (length,), value_start = struct.unpack(f"{endian}I", head[4:8]), start + 8
    else:  # explicit VR OB/OW: 2 reserved bytes, then a 4-byte length
        (length,), value_start = struct.unpack(f"{endian}I", head[8:12]), start + 12
    if length == _UNDEFINED_LENGTH:  # encapsulated (compressed) frames end with a delimiter
        if _SEQUENCE_DELIMITER not in fp.read():
            raise DicomImportError("truncated DICOM file")
        return
    if value_start + length > size or length < _native_pixel_bytes(ds):
        raise DicomImportError("truncated DICOM file")


def _ends_early(ds: Dataset, size: int) -> bool:
    """Bytes left after the last element: pydicom ignores an element header cut short."""
    last = _last_element(ds)
    if not isinstance(last, RawDataElement) or last.length == _UNDEFINED_LENGTH:
        return False
    return last.value_tell + last.length < size


def _native_pixel_bytes(ds: Dataset) -> int:
    rows, columns = _integer(ds, "Rows") or 0, _integer(ds, "Columns") or 0
    samples, frames = _integer(ds, "SamplesPerPixel") or 1, _integer(ds, "NumberOfFrames") or 1
    bits = _integer(ds, "BitsAllocated") or 8
    if bits == 1:
        return (rows * columns * samples * frames + 7) // 8
    return rows * columns * samples * frames * (bits // 8)


def _parsed(ds: Dataset, default_tz_offset_minutes: int) -> ParsedInstance:
    _check_character_set(ds)
    series_uid, study_uid = _uid(ds, "SeriesInstanceUID"), _uid(ds, "StudyInstanceUID")
    instance_number = _integer(ds, "InstanceNumber")
    if instance_number is None:
        raise DicomImportError("missing or invalid instance number")
    if instance_number < 0:
        raise DicomImportError(f"invalid instance number {instance_number}")
    width, height = _integer(ds, "Columns"), _integer(ds, "Rows")
    if not width or not height:
        raise DicomImportError("missing image size (Rows/Columns)")
    modality = _text(ds, "Modality")
    if not modality:
        raise DicomImportError("missing modality")
    if len(modality) > MAX_MODALITY_LENGTH:
        raise DicomImportError(f"modality {modality!r} is longer than {MAX_MODALITY_LENGTH} characters")
    return ParsedInstance(series_uid, study_uid, instance_number, width, height, modality, ds,
                          default_tz_offset_minutes)


def _series_fields(parsed: ParsedInstance) -> tuple[dict[str, object], list[str]]:
    ds = parsed.dataset
    offset = tz_offset_minutes(ds.get("TimezoneOffsetFromUTC"))
    offset = parsed.default_tz_offset_minutes if offset is None else offset
    warnings: list[str] = []
    fields: dict[str, object] = {
        "studyUid": parsed.study_uid,
        "width": parsed.width,
        "height": parsed.height,
        "seriesDate": utc_datetime(ds.get("SeriesDate"), ds.get("SeriesTime"), offset)
        or utc_datetime(ds.get("StudyDate"), ds.get("StudyTime"), offset),
        "modality": parsed.modality,
        "seriesDescription": _text(ds, "SeriesDescription"),
        "bodyPart": _text(ds, "BodyPartExamined"),
        "stationName": _text(ds, "StationName"),
        "modelName": _text(ds, "ManufacturerModelName"),
        "manufacturer": _text(ds, "Manufacturer"),
        "storageId": 0,
        "patientInfo": patient_info(ds, warnings),
        "parameters": parameters(ds),
    }
    return fields, warnings


def parameters(ds: Dataset) -> dict[str, JsonValue]:
    """`series.parameters`: four named values, then every standard element of groups
    0018/0020/0028 by keyword. Undefined, binary and sequence values are left out."""
    by_keyword: dict[str, JsonValue] = {}
    for raw in ds.elements():
        tag = raw.tag
        if tag.group not in PARAMETER_GROUPS or tag.is_private or tag.element == 0:
            continue
        keyword = keyword_for_tag(tag)
        value = _value(ds, tag) if keyword else None
        if value is not None:
            by_keyword[keyword] = value
    named: dict[str, JsonValue] = {}
    syntax = ds.file_meta.get("TransferSyntaxUID")
    if syntax:
        named["TransferSyntaxUID"] = str(syntax)
    spacing = by_keyword.get("PixelSpacing")
    if isinstance(spacing, list) and len(spacing) >= 2:
        # spec 5.2 names value 1 "X" and value 2 "Y" (DICOM's order is row spacing, column spacing)
        named["pixelSpacingX"], named["pixelSpacingY"] = spacing[0], spacing[1]
    position = by_keyword.get("ImagePositionPatient")
    if isinstance(position, list) and len(position) >= 3:
        named["imagePositionPatientZ"] = position[2]
    units = _value(ds, 0x00541001)
    if units is not None:
        named["PixelValueUnits"] = units
    return {**named, **by_keyword}


def _value(ds: Dataset, tag: int) -> JsonValue | None:
    if tag not in ds:
        return None
    try:
        return element_value(ds[tag])
    # converting a malformed raw element can fail in many ways inside pydicom; the value is
    # then undefined and dropped, like any other undefined value
    except Exception:
        return None


def _text(ds: Dataset, keyword: str) -> str:
    value = _value(ds, _tag_of(keyword))
    return str(value).strip() if value is not None else ""


def _integer(ds: Dataset, keyword: str) -> int | None:
    value = _value(ds, _tag_of(keyword))
    return value if isinstance(value, int) else None


def _tag_of(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return tag


def _uid(ds: Dataset, keyword: str) -> str:
    uid = _text(ds, keyword)
    if not uid:
        raise DicomImportError(f"missing {keyword}")
    if not is_valid_uid(uid):
        raise DicomImportError(f"invalid {keyword}: {uid!r}")
    return uid


def _check_character_set(ds: Dataset) -> None:
    """pydicom would fall back to a default on an unknown set; CIRCUS refuses the file."""
    value = ds.get("SpecificCharacterSet")
    names = [value] if isinstance(value, str) or value is None else list(value)
    unknown = [name for name in names if name and str(name).strip() not in charset.python_encoding]
    if unknown:
        raise DicomImportError(f"unsupported character set {unknown[0]!r}")
