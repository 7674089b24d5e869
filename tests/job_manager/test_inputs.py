"""The working folder and the plug-in's input files (`i.mhd`, `i.raw`, `i.json` per series)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from circus_api.imaging.cs_volume import write_cs_volume
from circus_api.settings import Settings
from job_manager.errors import JobError
from job_manager.inputs import (
    build_inputs,
    job_folder,
    keep_private_tags,
    parse_private_tags,
    prepare_folder,
    remove_folder,
    remove_tree,
)
from tests.circus_api.imaging.synthetic import write_ct_series


async def test_inputs_are_exactly_what_the_shared_volume_module_writes(
    jm_settings: Settings, series_uid: str, tmp_path: Path
) -> None:
    second = "1.2.826.0.1.3680043.8.498.1"
    write_ct_series(jm_settings.dicom_dir / second, 3, size=8, series_uid=second)
    series = [
        {"seriesUid": series_uid, "partialVolumeDescriptor": {"start": 4, "end": 1, "delta": -1}},
        {"seriesUid": second, "partialVolumeDescriptor": {"start": 1, "end": 3, "delta": 1}},
    ]
    folder, names = await build_inputs(jm_settings.dicom_dir, jm_settings.job_work_dir, "job1", series)
    assert folder.root == jm_settings.job_work_dir / "job1"
    assert names == ["0.mhd", "0.raw", "0.json", "1.mhd", "1.raw", "1.json"]
    assert sorted(os.listdir(folder.in_dir)) == sorted(names)
    assert os.listdir(folder.out_dir) == []

    expected = tmp_path / "expected"
    expected.mkdir()
    for index, entry in enumerate(series):
        write_cs_volume(jm_settings.dicom_dir, str(entry["seriesUid"]), entry["partialVolumeDescriptor"],
                        expected, index)
    for name in names:
        assert (folder.in_dir / name).read_bytes() == (expected / name).read_bytes(), name
    assert "DimSize = 16 16 4" in (folder.in_dir / "0.mhd").read_text()


async def test_the_container_user_can_read_the_inputs_but_only_the_manager_enters_the_folder(
    jm_settings: Settings, series_uid: str
) -> None:
    series = [{"seriesUid": series_uid, "partialVolumeDescriptor": {"start": 1, "end": 4, "delta": 1}}]
    folder, names = await build_inputs(jm_settings.dicom_dir, jm_settings.job_work_dir, "job2", series)
    assert stat.S_IMODE(folder.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.in_dir.stat().st_mode) == 0o555
    assert {stat.S_IMODE((folder.in_dir / n).stat().st_mode) for n in names} == {0o444}
    await remove_folder(jm_settings.job_work_dir, "job2")
    assert not folder.root.exists()


async def test_a_missing_series_is_a_readable_job_error(jm_settings: Settings) -> None:
    series = [{"seriesUid": "1.2.3.4", "partialVolumeDescriptor": {"start": 1, "end": 2, "delta": 1}}]
    with pytest.raises(JobError, match=r"^Could not build the input volume of series 1\.2\.3\.4: "):
        await build_inputs(jm_settings.dicom_dir, jm_settings.job_work_dir, "job3", series)


def test_a_leftover_folder_of_an_earlier_attempt_is_replaced(tmp_path: Path) -> None:
    first = prepare_folder(tmp_path, "job4")
    (first.out_dir / "stale.txt").write_text("old")
    os.chmod(first.in_dir, 0o555)
    again = prepare_folder(tmp_path, "job4")
    assert os.listdir(again.out_dir) == []


@pytest.mark.parametrize("job_id", ["..", ".", "a/b", "", "x y", "../etc"])
def test_job_ids_that_could_leave_the_work_dir_are_refused(tmp_path: Path, job_id: str) -> None:
    with pytest.raises(JobError, match="Invalid Job ID format"):
        job_folder(tmp_path, job_id)


def test_remove_tree_deletes_read_only_folders_and_never_follows_links(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f.txt").write_text("x")
    os.chmod(tree / "sub" / "f.txt", 0o444)
    os.symlink(outside, tree / "link")
    os.chmod(tree / "sub", 0o555)
    os.chmod(tree, 0o555)
    remove_tree(tree)
    assert not tree.exists()
    assert (outside / "keep.txt").read_text() == "keep"
    remove_tree(tree)  # already gone: fine


def test_required_private_tags_are_parsed_in_the_usual_spellings() -> None:
    assert parse_private_tags("x01f11001") == {"01f1,1001"}
    assert parse_private_tags("01F1,1001 x00091010;00191020") == {"01f1,1001", "0009,1010", "0019,1020"}
    assert parse_private_tags(None) == set()
    assert parse_private_tags("nonsense") == set()


def test_only_the_required_private_tags_are_kept_at_every_level() -> None:
    tags = {
        "common": {"0008,0060": "CT", "01f1,1001": "SPIRAL", "0009,1010": "x",
                   "0008,1140": [{"01f1,1001": "A", "0019,1020": "B", "0008,1150": "C"}]},
        "unique": [{"0019,1020": 1}],
    }
    assert keep_private_tags(tags, {"01f1,1001"}) == {
        "common": {"0008,0060": "CT", "01f1,1001": "SPIRAL", "0008,1140": [{"01f1,1001": "A", "0008,1150": "C"}]},
        "unique": [{}],
    }


async def test_required_private_tags_reach_the_json_and_others_do_not(jm_settings: Settings, series_uid: str) -> None:
    import pydicom

    for path in sorted((jm_settings.dicom_dir / series_uid).iterdir()):
        ds = pydicom.dcmread(path)
        block = ds.private_block(0x01F1, "CIRCUS TEST", create=True)
        block.add_new(0x01, "LO", "SPIRAL")
        block.add_new(0x02, "LO", "OTHER")
        ds.save_as(path, enforce_file_format=True)
    series = [{"seriesUid": series_uid, "partialVolumeDescriptor": {"start": 1, "end": 4, "delta": 1},
               "requiredPrivateTags": "x01f11001"}]
    folder, _ = await build_inputs(jm_settings.dicom_dir, jm_settings.job_work_dir, "job5", series)
    common = json.loads((folder.in_dir / "0.json").read_text())["common"]
    assert common["01f1,1001"] == "SPIRAL"
    assert "01f1,1002" not in common and "01f1,0010" not in common
