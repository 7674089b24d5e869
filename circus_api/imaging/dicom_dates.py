"""DICOM DA / TM / Timezone Offset From UTC values, as the importer reads them (spec 5.2).

Dates and times are local to the modality; subtracting the offset gives UTC. CIRCUS computed
the offset as hours*60*minutes (`+0900` -> 0); here it is hours*60 + minutes, with sign.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

_DA = re.compile(r"(\d{4})\.?(\d{2})\.?(\d{2})")  # YYYYMMDD, or ACR-NEMA YYYY.MM.DD
_TM = re.compile(r"(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?")  # HH[MM[SS[.F]]], old colons
_TZ = re.compile(r"([+-])(\d{2})(\d{2})")


def parse_da(text: object) -> date | None:
    match = _DA.fullmatch(str(text or "").strip())
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:  # e.g. 20190230
        return None


def parse_tm(text: object) -> time | None:
    match = _TM.fullmatch(str(text or "").strip())
    if match is None:
        return None
    hour, minute, second, fraction = match.groups()
    # BSON dates keep milliseconds only; truncate so the value stored is the value computed
    micro = int((fraction or "").ljust(6, "0")[:3] + "000")
    try:
        return time(int(hour), int(minute or 0), min(int(second or 0), 59), micro)  # 60: leap second
    except ValueError:
        return None


def tz_offset_minutes(text: object) -> int | None:
    """`+0900` -> 540, `-0530` -> -330; None when absent or malformed."""
    match = _TZ.fullmatch(str(text or "").strip())
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    magnitude = int(hours) * 60 + int(minutes)
    return -magnitude if sign == "-" else magnitude


def utc_datetime(date_text: object, time_text: object, offset_minutes: int) -> datetime | None:
    """A naive UTC datetime from local DA + TM (a missing time means midnight); None without a date."""
    day = parse_da(date_text)
    if day is None:
        return None
    local = datetime.combine(day, parse_tm(time_text) or time())
    return local - timedelta(minutes=offset_minutes)
