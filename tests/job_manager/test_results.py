"""Post-process: results.json validation and the copy of out/ (no links followed, no `..`)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from job_manager.errors import JobError
from job_manager.results import collect_results, copy_output, parse_results, relative_parts

VALID = {
    "results": {"lesionCandidates": [{"rank": 1, "confidence": 0.876, "volumeId": 0, "location": [200, 258, 58],
                                      "volumeSize": 50.4}]},
    "metadata": {"displayOptions": [{"volumeId": 0, "window": {"level": -600, "width": 1500},
                                     "crop": {"origin": [0, 0, 0], "size": [10, 10, 10]}}]},
    "extra": "allowed",
}


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def write(out_dir: Path, data: object, name: str = "results.json") -> None:
    (out_dir / name).write_text(data if isinstance(data, str) else json.dumps(data))


async def test_valid_results_are_returned_whole_and_every_file_is_copied_read_only(
    out_dir: Path, tmp_path: Path
) -> None:
    write(out_dir, VALID)
    (out_dir / "sub").mkdir()
    (out_dir / "sub" / "mask.raw.gz").write_bytes(b"\x1f\x8b")
    (out_dir / "image.png").write_bytes(b"png")
    dest = tmp_path / "results" / "job1"
    results, copied = await collect_results(out_dir, dest, exit_code=0)
    assert results == VALID
    assert copied == ["image.png", "results.json", "sub", "sub/mask.raw.gz"]
    assert (dest / "sub" / "mask.raw.gz").read_bytes() == b"\x1f\x8b"
    assert json.loads((dest / "results.json").read_text()) == VALID
    assert stat.S_IMODE((dest / "image.png").stat().st_mode) == 0o444
    assert stat.S_IMODE((dest / "sub").stat().st_mode) == 0o555


def test_an_empty_object_is_valid() -> None:
    assert parse_results(b"{}") == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "Plug-in validation failed: results.json is not valid JSON ("),
        ('{"x": NaN}', "Plug-in validation failed: results.json is not valid JSON (NaN is not allowed)."),
        ("[1, 2]",
         "Plug-in validation failed: Schema validation error for results.json file.\n. [1, 2] is not of type"),
        ('{"results": {"lesionCandidates": [{"volumeId": -1, "location": "here"}]}}',
         "Plug-in validation failed: Schema validation error for results.json file.\n"
         ".results.lesionCandidates[0] 'confidence' is a required property\n"
         ".results.lesionCandidates[0].location 'here' is not of type 'array'\n"
         ".results.lesionCandidates[0].volumeId -1 is less than the minimum of 0"),
        ('{"metadata": {"displayOptions": [{"volumeId": 0, "window": {"level": 1}}]}}',
         "Plug-in validation failed: Schema validation error for results.json file.\n"
         ".metadata.displayOptions[0].window 'width' is a required property"),
        ('{"results": {"$where": 1}}', "Plug-in validation failed: the key '$where' at .results cannot be stored."),
    ],
)
def test_invalid_results_fail_with_circus_message(content: str, message: str) -> None:
    with pytest.raises(JobError) as caught:
        parse_results(content.encode())
    assert caught.value.message.startswith(message), caught.value.message


async def test_no_results_json_names_the_exit_code(out_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(JobError, match=r"^The plug-in exited with code 5 without writing results\.json\.$"):
        await collect_results(out_dir, tmp_path / "dest", exit_code=5)
    assert not (tmp_path / "dest").exists()


async def test_a_symlink_to_a_host_file_fails_the_job_and_nothing_is_copied(out_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("secret")
    write(out_dir, VALID)
    (out_dir / "data.txt").write_text("fine")
    os.symlink(secret, out_dir / "passwd")
    dest = tmp_path / "dest"
    with pytest.raises(JobError, match=r"^Plug-in output rejected: passwd is a symbolic link\.$"):
        await collect_results(out_dir, dest, exit_code=0)
    assert not dest.exists() or list(dest.iterdir()) == []


async def test_a_symlinked_folder_is_not_entered(out_dir: Path, tmp_path: Path) -> None:
    write(out_dir, VALID)
    (out_dir / "deep" / "er").mkdir(parents=True)
    os.symlink("/etc", out_dir / "deep" / "er" / "etc")
    with pytest.raises(JobError, match=r"deep/er/etc is a symbolic link"):
        copy_output(out_dir, tmp_path / "dest")
    assert not (tmp_path / "dest" / "deep").exists()


async def test_results_json_itself_may_not_be_a_link(out_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    os.symlink(target, out_dir / "results.json")
    with pytest.raises(JobError, match=r"^Plug-in output rejected: results\.json is a symbolic link\.$"):
        await collect_results(out_dir, tmp_path / "dest", exit_code=0)


def test_fifos_and_other_special_files_are_refused(out_dir: Path, tmp_path: Path) -> None:
    write(out_dir, VALID)
    os.mkfifo(out_dir / "pipe")
    with pytest.raises(JobError, match=r"pipe is not a regular file or folder"):
        copy_output(out_dir, tmp_path / "dest")


@pytest.mark.parametrize("path", ["../etc/passwd", "a/../../b", "/etc/passwd", "a//b", "./a", "a/.."])
def test_paths_with_dot_dot_or_absolute_are_refused(path: str) -> None:
    with pytest.raises(JobError, match="is not a plain relative path"):
        relative_parts(path)


def test_plain_relative_paths_are_accepted() -> None:
    assert relative_parts("sub/dir/file..txt") == ["sub", "dir", "file..txt"]


def test_a_plugin_file_named_like_the_job_log_is_not_copied(out_dir: Path, tmp_path: Path) -> None:
    write(out_dir, VALID)
    (out_dir / "plugin-log.txt").write_text("forged")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "plugin-log.txt").write_text("the real log")
    assert copy_output(out_dir, dest) == ["results.json"]
    assert (dest / "plugin-log.txt").read_text() == "the real log"
