from __future__ import annotations

from datetime import date, datetime, time

import pytest

from circus_api.imaging.dicom_dates import parse_da, parse_tm, tz_offset_minutes, utc_datetime


@pytest.mark.parametrize(
    ("text", "day"),
    [("20180216", date(2018, 2, 16)), ("1999.05.05", date(1999, 5, 5)), (" 20180216 ", date(2018, 2, 16)),
     ("20190230", None), ("2018021", None), ("", None), (None, None), ("2018-02-16", None)],
)
def test_parse_da(text: str | None, day: date | None) -> None:
    assert parse_da(text) == day


@pytest.mark.parametrize(
    ("text", "moment"),
    [("09", time(9)), ("0936", time(9, 36)), ("093647", time(9, 36, 47)), ("093647.829123", time(9, 36, 47, 829000)),
     ("093647.8", time(9, 36, 47, 800000)), ("10:52:34.530000", time(10, 52, 34, 530000)),
     ("235960", time(23, 59, 59)), ("2500", None), ("abc", None), ("", None)],
)
def test_parse_tm(text: str, moment: time | None) -> None:
    assert parse_tm(text) == moment


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("+0900", 540), ("-0530", -330), ("+0000", 0), ("+0945", 585), ("0900", None), ("+09", None), (None, None)],
)
def test_timezone_offset_is_hours_times_60_plus_minutes(text: str | None, minutes: int | None) -> None:
    assert tz_offset_minutes(text) == minutes


def test_utc_datetime_subtracts_the_offset() -> None:
    assert utc_datetime("20180216", "093647.829", 540) == datetime(2018, 2, 16, 0, 36, 47, 829000)
    assert utc_datetime("20180101", "0100", 540) == datetime(2017, 12, 31, 16, 0)
    assert utc_datetime("20180216", None, 0) == datetime(2018, 2, 16)
    assert utc_datetime(None, "0100", 0) is None
