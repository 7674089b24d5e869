from __future__ import annotations

import pytest

from circus_api.imaging.ranges import (
    add_number,
    first_segment,
    format_range,
    normalize_range,
    parse_range,
    parse_segments,
    pvd_fits,
    pvd_image_numbers,
    pvd_length,
    range_contains,
    validate_pvd,
)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("", []),
        ("1", [1]),
        ("0", [0]),
        ("1-5", [1, 2, 3, 4, 5]),
        ("1,3,5-9", [1, 3, 5, 6, 7, 8, 9]),
        ("9,1,5-6,2", [1, 2, 5, 6, 9]),
        ("3-5,4-8,1", [1, 3, 4, 5, 6, 7, 8]),
        ("7-5", [5, 6, 7]),
        ("1,1,1", [1]),
    ],
)
def test_parse_range_gives_sorted_unique_numbers(text: str, numbers: list[int]) -> None:
    assert parse_range(text) == numbers


@pytest.mark.parametrize("text", [" ", "1,", ",1", "1,,2", "a", "1-", "-1", "1 - 3", "1-2-3", "1.5", "+1"])
def test_malformed_ranges_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_segments(text)


def test_parse_range_refuses_to_expand_a_huge_range() -> None:
    with pytest.raises(ValueError, match="more than"):
        parse_range("1-1000000000")
    assert parse_range("1-10", limit=10) == list(range(1, 11))


@pytest.mark.parametrize(
    ("text", "normalised"),
    [("", ""), ("5,1-3", "1-3,5"), ("1,2,3", "1-3"), ("1-3,4", "1-4"), ("1-3,5", "1-3,5"), ("2-2", "2")],
)
def test_ranges_are_normalised(text: str, normalised: str) -> None:
    assert normalize_range(text) == normalised


def test_format_range_merges_adjacent_numbers() -> None:
    assert format_range([9, 3, 1, 2, 3, 150]) == "1-3,9,150"
    assert format_range([]) == ""


@pytest.mark.parametrize(
    ("text", "number", "result"),
    [("", 1, "1"), ("1-3", 4, "1-4"), ("2-3", 1, "1-3"), ("1,3", 2, "1-3"), ("1-3", 2, "1-3"), ("1-3", 10, "1-3,10")],
)
def test_add_number_keeps_the_range_normalised(text: str, number: int, result: str) -> None:
    assert add_number(text, number) == result


def test_add_number_refuses_negative_numbers() -> None:
    with pytest.raises(ValueError):
        add_number("1", -1)


def test_membership_and_first_segment() -> None:
    assert range_contains("1-3,7", 7)
    assert not range_contains("1-3,7", 5)
    assert not range_contains("", 1)
    assert first_segment("7-9,1-3") == (1, 3)
    assert first_segment("5") == (5, 5)
    assert first_segment("") is None


# --- PVDs: one test per rule of spec 5.1 ---------------------------------------------------------


@pytest.mark.parametrize(
    "pvd",
    [
        {"start": 1, "end": 10, "delta": 1},
        {"start": 10, "end": 1, "delta": -1},
        {"start": 1, "end": 9, "delta": 2},
        {"start": 9, "end": 1, "delta": -4},
        {"start": 5, "end": 5, "delta": 1},
        {"start": 5, "end": 5, "delta": -2},  # only delta == -1 is excluded for a single image
        {"start": 1.0, "end": 3.0, "delta": 1.0},  # JSON numbers: 1.0 is the integer 1
    ],
)
def test_valid_pvds(pvd: dict[str, object]) -> None:
    assert validate_pvd(pvd)


@pytest.mark.parametrize(
    ("pvd", "rule"),
    [
        ({"start": 1, "end": 10}, "delta is effectively required"),
        ({"start": 1, "delta": 1}, "end is required"),
        ({"end": 1, "delta": 1}, "start is required"),
        ({"start": 0, "end": 10, "delta": 1}, "start is positive"),
        ({"start": 1, "end": 0, "delta": -1}, "end is positive"),
        ({"start": -3, "end": -1, "delta": 1}, "negative numbers"),
        ({"start": 1.5, "end": 10, "delta": 1}, "start is an integer"),
        ({"start": 1, "end": 10.5, "delta": 1}, "end is an integer"),
        ({"start": 1, "end": 10, "delta": 0.5}, "delta is an integer"),
        ({"start": 1, "end": 10, "delta": 0}, "delta is non-zero"),
        ({"start": "1", "end": 10, "delta": 1}, "numbers, not strings"),
        ({"start": True, "end": 10, "delta": 1}, "booleans are not numbers"),
        ({"start": 1, "end": 10, "delta": None}, "null delta"),
        ({"start": 10, "end": 1, "delta": 1}, "start > end needs a negative delta"),
        ({"start": 1, "end": 10, "delta": -1}, "start < end needs a positive delta"),
        ({"start": 1, "end": 10, "delta": 2}, "(end - start) / delta + 1 is an integer"),
        ({"start": 10, "end": 1, "delta": -2}, "same, descending"),
        ({"start": 5, "end": 5, "delta": -1}, "not (start == end and delta == -1)"),
    ],
)
def test_invalid_pvds(pvd: dict[str, object], rule: str) -> None:
    assert not validate_pvd(pvd), rule


def test_a_pvd_must_be_a_mapping() -> None:
    assert not validate_pvd(None)
    assert not validate_pvd([1, 10, 1])


def test_pvd_image_numbers_follow_the_pvd_order() -> None:
    assert pvd_image_numbers({"start": 1, "end": 5, "delta": 1}) == [1, 2, 3, 4, 5]
    assert pvd_image_numbers({"start": 10, "end": 1, "delta": -1}) == list(range(10, 0, -1))
    assert pvd_image_numbers({"start": 9, "end": 1, "delta": -4}) == [9, 5, 1]
    assert pvd_image_numbers({"start": 5, "end": 5, "delta": 3}) == [5]
    assert pvd_length({"start": 1, "end": 150, "delta": 1}) == 150
    with pytest.raises(ValueError):
        pvd_image_numbers({"start": 1, "end": 10, "delta": -1})


@pytest.mark.parametrize(
    ("pvd", "images", "fits"),
    [
        ({"start": 1, "end": 10, "delta": 1}, "1-10", True),
        ({"start": 10, "end": 1, "delta": -1}, "1-10", True),
        ({"start": 1, "end": 11, "delta": 1}, "1-10", False),
        ({"start": 1, "end": 10, "delta": 1}, "1-4,6-10", False),
        ({"start": 1, "end": 9, "delta": 2}, "1,3,5,7,9", True),
        ({"start": 1, "end": 9, "delta": 2}, "1,3,7,9", False),
        ({"start": 1, "end": 1000000001, "delta": 2}, "1-10", False),
        ({"start": 1, "end": 10, "delta": 1}, "", False),
        ({"start": 1, "end": 10, "delta": 2}, "1-10", False),  # invalid PVD never fits
    ],
)
def test_pvd_fits(pvd: dict[str, object], images: str, fits: bool) -> None:
    assert pvd_fits(pvd, images) is fits
