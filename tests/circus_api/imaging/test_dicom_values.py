from __future__ import annotations

import pytest
from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.valuerep import DSfloat

from circus_api.imaging.dicom_values import element_value, element_vr, tag_key


@pytest.mark.parametrize(
    ("vr", "value", "expected"),
    [
        ("DS", "6", 6.0),
        ("DS", ["1.5", "2"], [1.5, 2.0]),
        ("IS", "145", 145),
        ("US", [320, 0, 0, 156], [320, 0, 0, 156]),
        ("US", 7, 7),
        ("FD", 2.5, 2.5),
        ("FL", [1.0, 2.0], [1.0, 2.0]),
        ("SL", -3, -3),
        ("CS", ["SK", "SP"], "SK\\SP"),
        ("LO", "Body", "Body"),
        ("PN", "Doe^John", "Doe^John"),
        ("UI", "1.2.3", "1.2.3"),
        ("AT", 0x00181234, "0018,1234"),
        ("DA", "20180216", "20180216"),
    ],
)
def test_values(vr: str, value: object, expected: object) -> None:
    assert element_value(DataElement(0x00180050, vr, value)) == expected


@pytest.mark.parametrize(
    ("vr", "value"),
    [("OB", b"\x00\x01"), ("OW", b"\x00\x01"), ("UN", b"\x01"), ("SQ", []), ("LO", ""), ("DS", None), ("US", None),
     ("FD", float("nan")), ("FL", float("inf"))],
)
def test_undefined_binary_and_non_finite_values_are_none(vr: str, value: object) -> None:
    assert element_value(DataElement(0x00191001, vr, value)) is None


def test_element_values_are_plain_python_types() -> None:
    value = element_value(DataElement(0x00280030, "DS", MultiValue(DSfloat, ["0.5", "0.5"])))
    assert value == [0.5, 0.5]
    assert isinstance(value, list) and all(type(v) is float for v in value)


def test_ambiguous_vrs() -> None:
    assert element_vr(DataElement(0x00280106, "US or SS", 1)) == "US"
    assert element_vr(DataElement(0x7FE00010, "OB or OW", b"")) == "OB"


def test_tag_keys_are_lower_case_hex_with_a_comma() -> None:
    assert tag_key(0x7FE00010) == "7fe0,0010"
    assert tag_key(0x0020000E) == "0020,000e"
