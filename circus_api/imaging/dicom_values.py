"""DICOM element values as JSON/BSON-safe Python values.

Numeric VRs become numbers (lists when multi-valued); text VRs become one string (multiple
values joined with `\\`, as they are stored); binary VRs and sequences give None, as do empty
or undecodable values ("undefined values are dropped"). Callers that want sequences (the CS
volume JSON) walk them themselves.
"""

from __future__ import annotations

import math
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag

Scalar = str | int | float
JsonValue = Scalar | list[int | float]

INTEGER_VRS = frozenset({"IS", "SL", "SS", "SV", "UL", "US", "UV"})
FLOAT_VRS = frozenset({"DS", "FD", "FL"})
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})


def tag_key(tag: int) -> str:
    """`(0008,0060)` -> `"0008,0060"` (lower-case hex), the key format of spec 5.5."""
    tag = Tag(tag)
    return f"{tag.group:04x},{tag.element:04x}"


def element_vr(elem: DataElement) -> str:
    """The VR, resolving ambiguous ones pydicom could not settle (`US or SS`, `OB or OW`)."""
    vr = str(elem.VR)
    if " or " in vr:
        options = vr.split(" or ")
        return "OB" if any(option in BINARY_VRS for option in options) else options[0]
    return vr


def element_value(elem: DataElement) -> JsonValue | None:
    vr = element_vr(elem)
    if vr in BINARY_VRS or vr == "SQ":
        return None
    try:
        value = elem.value
    except (ValueError, TypeError, OverflowError):
        return None  # a value pydicom cannot even convert counts as undefined
    values = _as_list(value)
    if not values:
        return None
    try:
        if vr in INTEGER_VRS:
            return _numbers([int(v) for v in values])
        if vr in FLOAT_VRS:
            floats = [float(v) for v in values]
            return _numbers(floats) if all(math.isfinite(f) for f in floats) else None
    except (ValueError, TypeError, OverflowError):
        return None
    text = "\\".join(_text(v) for v in values)
    return text or None


def _as_list(value: Any) -> list[Any]:  # pydicom values: str, int, float, DSfloat, IS, ...
    if value is None or value == "" or isinstance(value, bytes):
        return []
    # only real multi-values: PersonName, for one, is iterable but a single value
    if isinstance(value, MultiValue | list | tuple):
        return list(value)
    return [value]


def _numbers(numbers: list[int] | list[float]) -> int | float | list[int | float]:
    return numbers[0] if len(numbers) == 1 else list(numbers)


def _text(value: object) -> str:
    if isinstance(value, BaseTag):  # AT values
        return tag_key(value)
    return str(value)
