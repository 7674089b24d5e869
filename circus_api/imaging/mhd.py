"""MetaImage (.mhd) headers, as CIRCUS writes them (spec 5.4).

Key order: ObjectType, NDims, DimSize, ElementType, ElementSpacing, ElementByteOrderMSB, then
the optional Offset / TransformMatrix / AnatomicalOrientation, and ElementDataFile last: MetaIO
readers start reading voxel data right after that key.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_ELEMENT_TYPES = {
    "u1": "MET_UCHAR",
    "i1": "MET_CHAR",
    "u2": "MET_USHORT",
    "i2": "MET_SHORT",
    "u4": "MET_UINT",
    "i4": "MET_INT",
    "f4": "MET_FLOAT",
    "f8": "MET_DOUBLE",
}


def element_type_for(pixel_type: np.dtype | type | str) -> str:
    """`int16` -> `MET_SHORT`; ValueError for types MetaImage cannot describe here."""
    dtype = np.dtype(pixel_type)
    key = f"{dtype.kind}{dtype.itemsize}"
    if key not in _ELEMENT_TYPES:
        raise ValueError(f"no MetaImage element type for {dtype}")
    return _ELEMENT_TYPES[key]


def format_number(value: float) -> str:
    """Numbers as JavaScript prints them (CIRCUS's writer): 1.0 -> `1`, 0.7 -> `0.7`."""
    number = float(value)
    if number.is_integer():
        return str(int(number))
    return repr(number)


def transform_matrix(direction: Sequence[float]) -> list[float]:
    """MetaIO's TransformMatrix for a row-major direction matrix whose columns are the axes:
    MetaIO lists the x, y and z axis vectors one after another (the transpose)."""
    if len(direction) != 9:
        raise ValueError("a direction matrix has 9 values")
    return [float(direction[row * 3 + column]) for column in range(3) for row in range(3)]


def mhd_header(
    dim_size: Sequence[int],
    element_type: str | np.dtype,
    spacing: Sequence[float],
    data_file: str,
    line_ending: str = "\n",
    offset: Sequence[float] | None = None,
    transform_matrix: Sequence[float] | None = None,
    anatomical_orientation: str | None = None,
) -> str:
    """The header text; every line, the last included, ends with `line_ending` (LF or CRLF).

    `element_type` is a `MET_*` name or a numpy pixel type.
    """
    met_type = element_type if isinstance(element_type, str) and element_type.startswith("MET_") else None
    if line_ending not in ("\n", "\r\n"):
        raise ValueError(f"line ending must be LF or CRLF, got {line_ending!r}")
    if len(dim_size) != 3 or len(spacing) != 3:
        raise ValueError("DimSize and ElementSpacing take 3 values")
    if any(c in data_file for c in "/\\\r\n"):
        raise ValueError(f"ElementDataFile must be a base name, got {data_file!r}")
    lines = [
        ("ObjectType", "Image"),
        ("NDims", "3"),
        ("DimSize", " ".join(str(int(n)) for n in dim_size)),
        ("ElementType", met_type or element_type_for(element_type)),
        ("ElementSpacing", _numbers(spacing)),
        ("ElementByteOrderMSB", "False"),
    ]
    if offset is not None:
        lines.append(("Offset", _numbers(offset)))
    if transform_matrix is not None:
        lines.append(("TransformMatrix", _numbers(transform_matrix)))
    if anatomical_orientation is not None:
        lines.append(("AnatomicalOrientation", anatomical_orientation))
    lines.append(("ElementDataFile", data_file))
    return "".join(f"{key} = {value}{line_ending}" for key, value in lines)


def _numbers(values: Sequence[float]) -> str:
    return " ".join(format_number(v) for v in values)


# ITK's letters name the side each axis comes *from*: +x (towards patient left) is R, as in RAI
_FROM_LETTERS = (("R", "L"), ("A", "P"), ("I", "S"))


def anatomical_orientation(direction: Sequence[float]) -> str:
    """MetaIO's AnatomicalOrientation for a row-major direction matrix in DICOM (LPS) space, as
    SimpleITK writes it: identity -> `RAI`, slices running feet-wards (z column negated) -> `RAS`.

    Oblique axes take their dominant patient axis; each patient axis is used once.
    """
    if len(direction) != 9:
        raise ValueError("a direction matrix has 9 values")
    columns = [[float(direction[row * 3 + column]) for row in range(3)] for column in range(3)]
    letters = [""] * 3
    free = {0, 1, 2}
    # the most clear-cut axes choose first, so an oblique one cannot take another's patient axis
    for column in sorted(range(3), key=lambda c: -max(abs(v) for v in columns[c])):
        patient_axis = max(free, key=lambda a: abs(columns[column][a]))
        free.discard(patient_axis)
        letters[column] = _FROM_LETTERS[patient_axis][0 if columns[column][patient_axis] >= 0 else 1]
    return "".join(letters)
