"""The measurement plug-in: statistics checked against numpy, PNG attachments checked byte by byte
(and decoded by SimpleITK), the container run in the sandbox."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from types import ModuleType

import docker
import numpy as np
import pytest
import SimpleITK as sitk

from job_manager.results import parse_results
from tests.docker_support import build_plugin, run_sandboxed
from tests.plugins.phantom import Phantom, write_input


def decode_png(data: bytes) -> tuple[int, int, int, np.ndarray]:
    """A strict reader for what the plug-in writes: (width, height, channels, pixels); checks CRCs."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, interlace) == (8, 0) and color in (0, 2)
    channels = 1 if color == 0 else 3
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    rows = np.frombuffer(raw, np.uint8).reshape(height, 1 + width * channels)
    assert (rows[:, 0] == 0).all()  # filter type None on every row
    return width, height, channels, rows[:, 1:].reshape(height, width, channels).squeeze()


def test_statistics_match_numpy(measure: ModuleType, phantom: Phantom) -> None:
    hu, spacing = phantom.hu, phantom.spacing
    stats = measure.measure_volume(hu, spacing, 0)
    voxel_ml = np.prod(spacing) / 1000
    assert stats["volumeId"] == 0
    assert stats["size"] == [hu.shape[2], hu.shape[1], hu.shape[0]]
    assert stats["voxelCount"] == hu.size
    assert (stats["min"], stats["max"]) == (hu.min(), hu.max())
    assert stats["mean"] == pytest.approx(hu.mean(), abs=0.01)
    assert stats["std"] == pytest.approx(hu.std(), abs=0.01)
    assert stats["percentiles"]["50"] == pytest.approx(np.median(hu), abs=0.01)
    assert stats["bodyVolume"] == pytest.approx((hu > -500).sum() * voxel_ml, abs=0.01)
    lung_ml = ((hu >= -900) & (hu < -500)).sum() * voxel_ml
    assert stats["tissueVolumes"]["lung"] == pytest.approx(lung_ml, abs=0.01)
    assert 150 < stats["tissueVolumes"]["lung"] < 300  # two ellipsoid lungs of about 107 ml each


def test_statistics_of_a_known_volume(measure: ModuleType) -> None:
    hu = np.full((4, 10, 10), -1000, np.int16)
    hu[1:3, 2:8, 2:8] = 100  # 72 voxels of soft tissue, 2 mm3 each
    stats = measure.measure_volume(hu, (1.0, 1.0, 2.0), 3)
    assert stats["volumeId"] == 3
    assert stats["tissueVolumes"] == {"air": 0.656, "lung": 0.0, "fat": 0.0, "softTissue": 0.144, "bone": 0.0}
    assert stats["bodyVolume"] == 0.144
    assert stats["bodyMean"] == 100.0
    assert stats["mean"] == pytest.approx((72 * 100 - 328 * 1000) / 400)
    assert stats["keySlice"] in (1, 2)


def test_the_histogram_is_a_valid_png_with_bars(measure: ModuleType, phantom: Phantom) -> None:
    width, height, channels, pixels = decode_png(measure.histogram_png(phantom.hu))
    assert (width, height, channels) == (520, 260, 3)
    bar = np.all(pixels == (40, 90, 160), axis=2)
    assert bar.sum() > 1000
    # bars stand at the phantom's peaks: air/lung (< -800 HU) and soft tissue (around +40 HU)
    columns = np.flatnonzero(bar.any(axis=0))
    assert columns.min() < 70 and any(200 < c < 260 for c in columns)


def test_the_key_slice_is_a_windowed_grayscale_png(measure: ModuleType, phantom: Phantom, tmp_path: Path) -> None:
    z = measure.key_slice_index(phantom.hu)
    assert z == phantom.hu.shape[0] // 2  # every slice of the phantom is equally large: the middle one
    data = measure.key_slice_png(phantom.hu, z)
    width, height, channels, pixels = decode_png(data)
    assert (width, height, channels) == (phantom.hu.shape[2], phantom.hu.shape[1], 1)
    expected = np.clip(np.rint((phantom.hu[z].astype(float) + 1350) / 1500 * 255), 0, 255).astype(np.uint8)
    assert np.array_equal(pixels, expected)
    (tmp_path / "key.png").write_bytes(data)  # and an independent decoder agrees
    assert np.array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "key.png"))), expected)


def test_run_writes_results_and_attachments(
    measure: ModuleType, phantom: Phantom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = phantom.hu[::2, ::2, ::2]
    write_input(tmp_path / "in", [(phantom.hu, phantom.spacing), (small, (1.6, 1.6, 3.0))])
    out = tmp_path / "out"
    out.mkdir()
    assert measure.main(["measure.py", str(tmp_path / "in"), str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["histogram.png", "key-slice.png", "results.json"]
    results = parse_results((out / "results.json").read_bytes())
    statistics = results["results"]["statistics"]
    assert [s["volumeId"] for s in statistics] == [0, 1]
    assert statistics[0]["mean"] == pytest.approx(phantom.hu.mean(), abs=0.01)
    assert statistics[1]["spacing"] == [1.6, 1.6, 3.0]
    assert [d["volumeId"] for d in results["metadata"]["displayOptions"]] == [0, 1]
    for name in ("histogram.png", "key-slice.png"):
        decode_png((out / name).read_bytes())
    progress = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert progress[-1] == {"progress": 1.0, "message": "Measured 2 volume(s)"}


@pytest.mark.docker
def test_the_container_writes_statistics_and_pngs_in_the_sandbox(
    docker_client: docker.DockerClient, phantom: Phantom, tmp_path: Path
) -> None:
    image = build_plugin(docker_client, "measurement")
    write_input(tmp_path / "in", [(phantom.hu, phantom.spacing)])
    (tmp_path / "out").mkdir()
    code, stdout, stderr, _ = run_sandboxed(docker_client, image, tmp_path / "in", tmp_path / "out")
    assert code == 0, stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["histogram.png", "key-slice.png", "results.json"]
    assert {p.stat().st_uid for p in out.iterdir()} == {10001}  # written by the non-root plug-in user
    stats = parse_results((out / "results.json").read_bytes())["results"]["statistics"][0]
    assert stats["mean"] == pytest.approx(phantom.hu.mean(), abs=0.01)
    decode_png((out / "histogram.png").read_bytes())
    decode_png((out / "key-slice.png").read_bytes())
    assert json.loads(stdout.splitlines()[0])["progress"] == 0.0
