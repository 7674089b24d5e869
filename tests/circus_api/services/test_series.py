"""Series rules called directly (spec 4.5): query values of the orientation, the export checks,
deletion and patientInfo shaping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.errors import BadRequest, CircusError, Forbidden, NotFound
from circus_api.imaging.dicom_files import image_numbers, write_image
from circus_api.privileges import Privileges
from circus_api.services import series
from tests.circus_api.imaging.fixture_files import fixture_files

VEGA = Privileges(domains=["vega.org"])


def a_series(uid: str, domain: str = "vega.org", images: str = "1-10", **extra: Any) -> dict[str, Any]:
    return {"seriesUid": uid, "domain": domain, "images": images, "patientInfo": {"patientId": "1"}, **extra}


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], 7), ([""], 7), (["1"], 1), (["10"], 10), (["1" * 18], int("1" * 18)), (["9" * 19], -1)],
)
def test_image_numbers_of_the_query(values: list[str], expected: int) -> None:
    assert series.parse_image_number(values, 7) == expected


@pytest.mark.parametrize("values", [["0"], ["01"], ["-2"], ["+2"], ["2.0"], ["2 "], ["x"], ["1", "2"]])
def test_anything_else_is_an_invalid_string(values: list[str]) -> None:
    with pytest.raises(BadRequest) as caught:
        series.parse_image_number(values, 7)
    assert caught.value.message == "Invalid string"


async def test_orientation_of_a_series_with_a_corrupt_image_range_is_out_of_bounds(db: AsyncDatabase) -> None:
    await db.series.insert_one(a_series("1.2.3", images="1-x"))
    with pytest.raises(BadRequest) as caught:
        await series.orientation(db, Path("/nonexistent"), VEGA, "1.2.3", [], [])
    assert caught.value.message == "The given start/end number is out of bounds."


async def test_orientation_failures_are_500s_with_the_reason(db: AsyncDatabase, tmp_path: Path) -> None:
    await db.series.insert_one(a_series("1.2.3", images="1-10"))
    for number, path in enumerate(fixture_files("head-first")[:2], start=1):
        write_image(tmp_path, "1.2.3", number, path.read_bytes())
    with pytest.raises(CircusError) as caught:
        await series.orientation(db, tmp_path, VEGA, "1.2.3", ["1"], ["10"])  # image 10 is not stored
    assert (caught.value.status_code, caught.value.message) == (500, "no image")
    assert await series.orientation(db, tmp_path, VEGA, "1.2.3", ["1"], ["2"]) == {"orientation": "head-first"}


async def test_the_export_check_returns_integer_descriptors(db: AsyncDatabase) -> None:
    await db.series.insert_many([a_series("1.2.3"), a_series("1.2.4", images="1,3,5,7")])
    entries = [
        {"seriesUid": "1.2.3", "partialVolumeDescriptor": {"start": 10.0, "end": 1, "delta": -1.0}},
        {"seriesUid": "1.2.4", "partialVolumeDescriptor": {"start": 1, "end": 7, "delta": 2}},
    ]
    assert await series.check_export(db, VEGA, entries) == [
        {"seriesUid": "1.2.3", "partialVolumeDescriptor": {"start": 10, "end": 1, "delta": -1}},
        {"seriesUid": "1.2.4", "partialVolumeDescriptor": {"start": 1, "end": 7, "delta": 2}},
    ]
    gap = [{"seriesUid": "1.2.4", "partialVolumeDescriptor": {"start": 1, "end": 3, "delta": 1}}]
    with pytest.raises(BadRequest) as caught:
        await series.check_export(db, VEGA, gap)
    assert caught.value.message == "Specified range is invalid."


async def test_the_export_check_goes_entry_by_entry(db: AsyncDatabase) -> None:
    await db.series.insert_many([a_series("1.2.3"), a_series("1.2.5", domain="sirius.org")])
    bad_pvd = {"seriesUid": "1.2.3", "partialVolumeDescriptor": {"start": 1, "end": 2, "delta": -1}}
    other_domain = {"seriesUid": "1.2.5", "partialVolumeDescriptor": {"start": 1, "end": 2, "delta": 1}}
    with pytest.raises(BadRequest):
        await series.check_export(db, VEGA, [bad_pvd, other_domain])
    with pytest.raises(Forbidden):
        await series.check_export(db, VEGA, [other_domain, bad_pvd])


async def test_deleting_removes_only_that_series_files(db: AsyncDatabase, mongo_url: str, tmp_path: Path) -> None:
    await db.series.insert_many([a_series("1.2.3"), a_series("1.2.4")])
    data = fixture_files("head-first")[0].read_bytes()
    for uid in ("1.2.3", "1.2.4"):
        write_image(tmp_path, uid, 1, data)
    client: AsyncMongoClient = AsyncMongoClient(mongo_url, timeoutMS=30_000)
    try:
        await series.delete(client, client[db.name], tmp_path, VEGA, "1.2.3", 10_000)
        with pytest.raises(NotFound):
            await series.delete(client, client[db.name], tmp_path, VEGA, "1.2.3", 10_000)
    finally:
        await client.close()
    assert await db.series.count_documents({}) == 1
    assert image_numbers(tmp_path, "1.2.3") == [] and image_numbers(tmp_path, "1.2.4") == [1]


def test_patient_info_is_shown_only_with_privilege_and_preference() -> None:
    wants = {"preferences": {"personalInfoView": True}}
    allowed = Privileges(global_privileges=["personalInfoView"])
    item = a_series("1.2.3")
    assert series.patient_info_shaper(wants, allowed)(dict(item))["patientInfo"] == {"patientId": "1"}
    assert "patientInfo" not in series.patient_info_shaper(wants, Privileges())(dict(item))
    assert "patientInfo" not in series.patient_info_shaper({"preferences": {}}, allowed)(dict(item))
    assert "patientInfo" not in series.patient_info_shaper(wants, allowed)({**item, "patientInfo": None})
