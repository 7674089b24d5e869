"""The lung nodule detector on synthetic chest phantoms: directly (its Python core) and as a
sandboxed container reading the job manager's input layout."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import ModuleType

import docker
import numpy as np
import pytest
import SimpleITK as sitk

from job_manager.results import parse_results
from tests.docker_support import build_plugin, run_sandboxed
from tests.plugins.phantom import Nodule, Phantom, Vessel, make_chest_phantom, write_input

TOLERANCE_VOXELS = 2.0


def as_image(phantom: Phantom) -> sitk.Image:
    image = sitk.GetImageFromArray(phantom.hu)
    image.SetSpacing(phantom.spacing)
    return image


def nearest(location: list[int] | tuple[int, ...], nodule: Nodule) -> float:
    return float(np.linalg.norm(np.subtract(location, nodule.center)))


def assert_all_nodules_found(candidates: list[dict], nodules: list[Nodule]) -> None:
    for nodule in nodules:
        distances = [nearest(c["location"], nodule) for c in candidates]
        assert distances and min(distances) <= TOLERANCE_VOXELS, (nodule, candidates)


def as_dicts(candidates: list) -> list[dict]:
    return [{"location": list(c.location), "confidence": c.confidence, "volume": c.volume_mm3} for c in candidates]


@pytest.fixture(scope="module")
def detection(detector: ModuleType, phantom: Phantom) -> tuple[list, float]:
    """The detector's output for the default phantom, computed once."""
    return detector.detect(as_image(phantom))


def test_every_nodule_of_the_phantom_is_found_and_nothing_else(phantom: Phantom, detection: tuple[list, float]) -> None:
    candidates, lung_volume = detection
    assert_all_nodules_found(as_dicts(candidates), phantom.nodules)
    assert len(candidates) == len(phantom.nodules)  # the vessels are not reported
    assert all(c.confidence >= 0.5 for c in candidates)
    assert 150_000 < lung_volume < 300_000  # mm3: two ellipsoids of about 107 ml each


def test_candidate_volumes_match_the_spheres(phantom: Phantom, detection: tuple[list, float]) -> None:
    candidates, _ = detection
    for nodule in phantom.nodules:
        found = min(candidates, key=lambda c: nearest(c.location, nodule))
        expected = 4 / 3 * math.pi * nodule.radius_mm**3
        assert found.volume_mm3 == pytest.approx(expected, rel=0.3)


def test_nodules_touching_thick_vessels_in_noisier_data_are_found(detector: ModuleType) -> None:
    # both vessels of the default phantom touch or pass the 4 mm and the 8 mm nodule
    phantom = make_chest_phantom(
        vessels=[Vessel((40, 40, 10), (60, 95, 55), 2.2), Vessel((105, 50, 12), (120, 90, 30), 2.5)], noise_hu=30,
    )
    candidates, _ = detector.detect(as_image(phantom))
    confident = [c for c in as_dicts(candidates) if c["confidence"] >= 0.5]
    assert_all_nodules_found(confident, phantom.nodules)
    assert len(confident) <= len(phantom.nodules) + 1


def test_other_geometry_and_nodule_positions(detector: ModuleType) -> None:
    nodules = [Nodule((40, 60, 20), 5.0), Nodule((38, 75, 38), 7.0), Nodule((100, 70, 40), 4.5)]
    phantom = make_chest_phantom(shape_xyz=(140, 110, 60), spacing=(0.9, 0.9, 1.25), nodules=nodules, vessels=[],
                                 seed=3)
    candidates, _ = detector.detect(as_image(phantom))
    assert_all_nodules_found(as_dicts(candidates), nodules)
    assert len(candidates) <= len(nodules) + 1


def test_a_phantom_without_nodules_has_no_candidate(detector: ModuleType) -> None:
    candidates, lung_volume = detector.detect(as_image(make_chest_phantom(nodules=[])))
    assert candidates == []
    assert lung_volume > 0


def test_score_prefers_round_blobs_of_nodule_size(detector: ModuleType) -> None:
    assert detector.score(1.0, 1.0, 10.0) == 1.0
    assert detector.score(1.0, 3.0, 10.0) < 0.2  # a vessel piece
    assert detector.score(1.0, 1.0, 2.0) == 0.0  # a speck
    assert detector.score(1.0, 1.0, 40.0) == 0.0  # a mass beyond the nodule range


def test_run_reads_the_input_layout_and_writes_valid_results(
    detector: ModuleType, phantom: Phantom, phantom_input: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert detector.main(["detector.py", str(phantom_input), str(out)]) == 0
    results = parse_results((out / "results.json").read_bytes())  # the job manager's schema check
    candidates = results["results"]["lesionCandidates"]
    assert [c["rank"] for c in candidates] == list(range(1, len(candidates) + 1))
    assert all(c["volumeId"] == 0 and len(c["location"]) == 3 for c in candidates)
    assert_all_nodules_found(candidates, phantom.nodules)
    assert results["metadata"]["displayOptions"] == [{"volumeId": 0, "window": {"level": -600, "width": 1500}}]
    progress = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p["progress"] for p in progress] == sorted(p["progress"] for p in progress)
    assert progress[0]["progress"] == 0.0 and progress[-1]["progress"] == 1.0
    assert all(isinstance(p["message"], str) for p in progress)


def test_missing_input_is_an_error_exit(detector: ModuleType, tmp_path: Path) -> None:
    assert detector.main(["detector.py", str(tmp_path), str(tmp_path)]) == 2
    assert not (tmp_path / "results.json").exists()


@pytest.mark.docker
def test_the_container_finds_the_nodules_in_the_sandbox(
    docker_client: docker.DockerClient, phantom: Phantom, tmp_path: Path
) -> None:
    image = build_plugin(docker_client, "lung-nodule-detector")
    write_input(tmp_path / "in", [(phantom.hu, phantom.spacing)])
    (tmp_path / "out").mkdir()
    code, stdout, stderr, oom = run_sandboxed(docker_client, image, tmp_path / "in", tmp_path / "out")
    assert (code, oom) == (0, False), stderr
    results = parse_results((tmp_path / "out" / "results.json").read_bytes())
    candidates = results["results"]["lesionCandidates"]
    assert_all_nodules_found(candidates, phantom.nodules)
    assert len(candidates) == len(phantom.nodules)
    assert '"progress": 1.0' in stdout.splitlines()[-1]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["results.json"]
