"""Multi-integer ranges (`series.images`) and partial volume descriptors (spec 5.1).

Ranges are handled as merged segments so that a request-sized range such as `1-1000000000`
never expands into a list by accident; only `parse_range` expands, and it is bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

Segment = tuple[int, int]

_ITEM = re.compile(r"(\d+)(?:-(\d+))?")
DEFAULT_EXPAND_LIMIT = 1_000_000


def parse_segments(text: str) -> list[Segment]:
    """`"5-9,1,3"` -> `[(1, 1), (3, 3), (5, 9)]`: sorted, overlapping/adjacent segments merged.

    Raises ValueError on anything but comma-separated non-negative integers or `a-b` items
    (no spaces, no empty items). A reversed item `9-5` is accepted as `5-9`.
    """
    if text == "":
        return []
    segments: list[Segment] = []
    for item in text.split(","):
        match = _ITEM.fullmatch(item)
        if match is None:
            raise ValueError(f"invalid range item {item!r} in {text!r}")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        segments.append((min(low, high), max(low, high)))
    return _merge(segments)


def _merge(segments: Iterable[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for low, high in sorted(segments):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def format_segments(segments: Iterable[Segment]) -> str:
    """Normalised text of segments: ascending, merged, `a` for single numbers, `a-b` otherwise."""
    return ",".join(str(low) if low == high else f"{low}-{high}" for low, high in _merge(segments))


def format_range(numbers: Iterable[int]) -> str:
    """`[3, 1, 2, 9]` -> `"1-3,9"`."""
    return format_segments((n, n) for n in numbers)


def normalize_range(text: str) -> str:
    return format_segments(parse_segments(text))


def parse_range(text: str, limit: int = DEFAULT_EXPAND_LIMIT) -> list[int]:
    """Every number of the range, ascending and unique; ValueError past `limit` numbers."""
    segments = parse_segments(text)
    if range_size(segments) > limit:
        raise ValueError(f"range {text!r} holds more than {limit} numbers")
    return [n for low, high in segments for n in range(low, high + 1)]


def range_size(segments: Iterable[Segment]) -> int:
    return sum(high - low + 1 for low, high in segments)


def add_number(text: str, number: int) -> str:
    """The range with `number` added, normalised (how an import grows `series.images`)."""
    if number < 0:
        raise ValueError(f"image numbers are non-negative, got {number}")
    return format_segments([*parse_segments(text), (number, number)])


def range_contains(text: str, number: int) -> bool:
    return any(low <= number <= high for low, high in parse_segments(text))


def first_segment(text: str) -> Segment | None:
    """The first contiguous run `(a, b)` (used by `partialVolumeDescriptor: "auto"`), or None."""
    segments = parse_segments(text)
    return segments[0] if segments else None


# --- partial volume descriptors ------------------------------------------------------------------


def _integer(value: object) -> int | None:
    """JSON numbers arrive as int or float; CIRCUS (JavaScript) accepts 3.0 as the integer 3."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def validate_pvd(pvd: object) -> bool:
    """Every validity rule of spec 5.1 (`delta` is effectively required)."""
    if not isinstance(pvd, Mapping):
        return False
    start, end, delta = (_integer(pvd.get(key)) for key in ("start", "end", "delta"))
    if start is None or end is None or delta is None:
        return False
    if start < 1 or end < 1 or delta == 0:
        return False
    if (start > end and delta > 0) or (start < end and delta < 0):
        return False
    # (end - start) / delta + 1 must be a positive integer
    if (end - start) % delta != 0 or (end - start) // delta + 1 < 1:
        return False
    # CIRCUS's one odd exclusion: a single image walked backwards
    return not (start == end and delta == -1)


def _checked(pvd: Mapping[str, object]) -> tuple[int, int, int]:
    if not validate_pvd(pvd):
        raise ValueError(f"invalid partial volume descriptor {dict(pvd)!r}")
    start, end, delta = (_integer(pvd[key]) for key in ("start", "end", "delta"))
    assert start is not None and end is not None and delta is not None  # validated above
    return start, end, delta


def pvd_length(pvd: Mapping[str, object]) -> int:
    """How many images the PVD selects."""
    start, end, delta = _checked(pvd)
    return (end - start) // delta + 1


def pvd_image_numbers(pvd: Mapping[str, object]) -> list[int]:
    """Image numbers in PVD order: `{10, 1, -1}` -> `[10, 9, ..., 1]`. ValueError if invalid."""
    start, end, delta = _checked(pvd)
    return list(range(start, end + (1 if delta > 0 else -1), delta))


def pvd_fits(pvd: Mapping[str, object], images_range: str) -> bool:
    """True when the PVD is valid and every image number it denotes is in `images_range`."""
    if not validate_pvd(pvd):
        return False
    start, end, delta = _checked(pvd)
    segments = parse_segments(images_range)
    low, high = min(start, end), max(start, end)
    if abs(delta) == 1:
        return any(s_low <= low and high <= s_high for s_low, s_high in segments)
    # more numbers than the series holds cannot fit; this also bounds the loop below
    if (end - start) // delta + 1 > range_size(segments):
        return False
    return all(any(s_low <= n <= s_high for s_low, s_high in segments) for n in range(low, high + 1, abs(delta)))
