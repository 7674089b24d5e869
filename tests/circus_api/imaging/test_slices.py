"""imaging.slices: one-file slice reads, planes, the viewer metadata and the volume cache."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from circus_api.imaging.errors import VolumeError
from circus_api.imaging.slices import (
    ImageNotFound,
    VolumeCache,
    image_etag,
    plane_count,
    read_slice,
    reformat_plane,
    series_version,
    viewer_metadata,
    volume_from_geometry,
)
from circus_api.imaging.volumes import Volume, build_volume, volume_geometry
from tests.circus_api.imaging.synthetic import make_ct_series, write_ct_series

UID = "1.2.826.0.1.3680043.8.498.77"


@pytest.fixture
def stored(repository: Path) -> np.ndarray:
    series = make_ct_series(6, (12, 10), series_uid=UID, noise=20)
    write_ct_series(repository / UID, 6, (12, 10), series_uid=UID, noise=20)
    return series.hu


def test_read_slice_is_one_slice_of_the_volume(repository: Path, stored: np.ndarray) -> None:
    volume = build_volume(repository, UID)
    for number in range(1, 7):
        pixels = read_slice(repository, UID, number)
        assert pixels.dtype == np.dtype("<i2")
        np.testing.assert_array_equal(pixels, volume.voxels[number - 1])
        np.testing.assert_array_equal(pixels, stored[number - 1])
    with pytest.raises(ImageNotFound):
        read_slice(repository, UID, 7)
    with pytest.raises(ImageNotFound):
        image_etag(repository, UID, 7)


def test_planes_are_numpy_slicing(stored: np.ndarray) -> None:
    assert plane_count((12, 10, 6), "axial") == 6
    assert plane_count((12, 10, 6), "coronal") == 10
    assert plane_count((12, 10, 6), "sagittal") == 12
    np.testing.assert_array_equal(reformat_plane(stored, "axial", 2), stored[2])
    coronal = reformat_plane(stored, "coronal", 4)
    np.testing.assert_array_equal(coronal, stored[:, 4, :])
    assert coronal.flags.c_contiguous and coronal.shape == (6, 12)
    np.testing.assert_array_equal(reformat_plane(stored, "sagittal", 11), stored[:, :, 11])
    with pytest.raises(ValueError):
        reformat_plane(stored, "oblique", 0)  # type: ignore[arg-type]


def test_volume_from_geometry_equals_build_volume(repository: Path, stored: np.ndarray) -> None:
    geometry = volume_geometry(repository, UID, [6, 4, 2])
    np.testing.assert_array_equal(volume_from_geometry(repository, UID, geometry).voxels, stored[[5, 3, 1]])


def test_metadata_and_versions(repository: Path, stored: np.ndarray) -> None:
    meta = viewer_metadata(volume_geometry(repository, UID))
    assert meta["size"] == [12, 10, 6] and meta["dtype"] == "int16" and meta["hounsfield"] is True
    assert len(meta["slicePositions"]) == 6
    before = series_version(repository, UID)
    etag = image_etag(repository, UID, 3)
    time.sleep(0.01)
    (repository / UID / "00000003.dcm").write_bytes((repository / UID / "00000004.dcm").read_bytes())
    assert image_etag(repository, UID, 3) != etag
    (repository / UID / "new.tmp").write_bytes(b"")  # what write_image's temporary file does
    assert series_version(repository, UID) != before
    assert series_version(repository, "1.2.3") == 0


def _volume(n: int) -> Volume:
    return Volume(np.zeros((n, 4, 4), dtype=np.int16), None)  # type: ignore[arg-type]


def test_the_cache_keeps_the_most_recent_volumes() -> None:
    cache = VolumeCache(max_volumes=2)
    a, b, c = _volume(1), _volume(2), _volume(3)
    assert cache.get("a", lambda: a) is a
    assert cache.get("b", lambda: b) is b
    assert cache.get("a", lambda: pytest.fail("rebuilt")) is a  # a is now the most recent
    assert cache.get("c", lambda: c) is c
    assert len(cache) == 2 and cache.peek("b") is None and cache.peek("a") is a
    assert cache.builds == 3


def test_the_cache_is_bounded_by_bytes() -> None:
    cache = VolumeCache(max_volumes=10, max_bytes=100 * 32)
    for key in range(5):
        cache.get(key, lambda: _volume(50))  # 50 * 4 * 4 * 2 = 1600 bytes each
    assert len(cache) == 2 and cache.nbytes == 3200
    big = cache.get("big", lambda: _volume(1000))  # over the bound alone: still kept
    assert len(cache) == 1 and cache.peek("big") is big


def test_concurrent_requests_build_once_and_failures_leave_nothing() -> None:
    cache = VolumeCache()
    calls = 0

    def slow() -> Volume:
        nonlocal calls
        calls += 1
        time.sleep(0.1)
        return _volume(1)

    results: list[Volume] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == 1 and len(results) == 4 and all(r is results[0] for r in results)

    def broken() -> Volume:
        raise VolumeError("image 3 not found")

    with pytest.raises(VolumeError):
        cache.get("x", broken)
    assert cache.peek("x") is None
    assert cache.get("x", lambda: _volume(2)).voxels.shape[0] == 2
