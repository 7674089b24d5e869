"""job_manager.images: reading files and directories out of images without running them, image
IDs, builds, and the refusal of hostile archives."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import docker
import pytest

from job_manager import images
from tests.docker_support import build_scratch_image

MANIFEST = {"type": "CAD", "pluginName": "scratch", "version": "1.0.0", "description": "from scratch"}


def extract_containers(client: docker.DockerClient) -> list[str]:
    return [c.id for c in client.containers.list(all=True, filters={"label": "circus.purpose=extract"})]


@pytest.fixture(scope="module")
def scratch_image(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_scratch_image(docker_client, tmp_path_factory.mktemp("scratch"), "circus-test-images:good", {
        "plugin.json": json.dumps(MANIFEST).encode(),
        "displays/remoteEntry.js": b"console.log('display');\n",
        "displays/chunks/1.js": b"1;\n",
        "displays/latest.js": "remoteEntry.js",  # a link inside the directory is fine
    })


@pytest.fixture(scope="module")
def hostile_image(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_scratch_image(docker_client, tmp_path_factory.mktemp("hostile"), "circus-test-images:hostile", {
        "plugin.json": "/etc/passwd",
        "displays/remoteEntry.js": b"x\n",
        "displays/passwd": "/etc/passwd",
    })


@pytest.mark.docker
async def test_a_file_is_read_without_running_the_image(docker_client: docker.DockerClient, scratch_image: str) -> None:
    # a scratch image holds no program at all: it could not have run
    before = extract_containers(docker_client)
    data = await images.read_file_from_image(scratch_image, "/plugin.json", docker_client)
    assert json.loads(data) == MANIFEST
    assert extract_containers(docker_client) == before  # the throw-away container is gone


@pytest.mark.docker
async def test_reading_a_missing_file_or_a_directory_fails_and_cleans_up(
    docker_client: docker.DockerClient, scratch_image: str
) -> None:
    before = extract_containers(docker_client)
    with pytest.raises(images.PathNotFound, match=r"/nothing\.json"):
        await images.read_file_from_image(scratch_image, "/nothing.json", docker_client)
    with pytest.raises(images.ImageError, match="not a regular file"):
        await images.read_file_from_image(scratch_image, "/displays", docker_client)
    assert extract_containers(docker_client) == before


@pytest.mark.docker
async def test_a_symlinked_manifest_is_not_followed(docker_client: docker.DockerClient, hostile_image: str) -> None:
    with pytest.raises(images.ImageError, match="not a regular file"):
        await images.read_file_from_image(hostile_image, "/plugin.json", docker_client)


@pytest.mark.docker
async def test_unknown_images_are_reported(docker_client: docker.DockerClient) -> None:
    with pytest.raises(images.ImageNotFound, match="No such image: circus-test-images:absent"):
        await images.read_file_from_image("circus-test-images:absent", "/plugin.json", docker_client)
    with pytest.raises(images.ImageNotFound):
        await images.image_id("circus-test-images:absent", docker_client)


@pytest.mark.docker
async def test_image_id_resolves_tags_and_short_ids(docker_client: docker.DockerClient, scratch_image: str) -> None:
    assert images.DOCKER_ID.fullmatch(scratch_image)
    assert await images.image_id("circus-test-images:good", docker_client) == scratch_image
    assert await images.image_id(scratch_image[:12], docker_client) == scratch_image
    assert await images.image_id(scratch_image, docker_client) == scratch_image


@pytest.mark.docker
async def test_a_directory_is_extracted_with_its_contents(
    docker_client: docker.DockerClient, scratch_image: str, tmp_path: Path
) -> None:
    dest = tmp_path / "cache" / "abc" / "displays"
    names = await images.extract_dir_from_image(scratch_image, "/displays", dest, docker_client)
    assert sorted(names) == ["chunks", "chunks/1.js", "latest.js", "remoteEntry.js"]
    assert (dest / "remoteEntry.js").read_text() == "console.log('display');\n"
    assert (dest / "chunks" / "1.js").read_bytes() == b"1;\n"
    assert (dest / "latest.js").resolve() == (dest / "remoteEntry.js").resolve()
    # a second extraction replaces the directory, leaving no staging directory behind
    (dest / "stale.js").write_text("old")
    await images.extract_dir_from_image(scratch_image, "/displays/", dest, docker_client)
    assert not (dest / "stale.js").exists()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["displays"]


@pytest.mark.docker
async def test_a_link_to_a_host_path_in_an_image_directory_is_refused(
    docker_client: docker.DockerClient, hostile_image: str, tmp_path: Path
) -> None:
    dest = tmp_path / "displays"
    with pytest.raises(images.UnsafeArchive, match="passwd -> /etc/passwd"):
        await images.extract_dir_from_image(hostile_image, "/displays", dest, docker_client)
    assert list(tmp_path.iterdir()) == []  # nothing written, no staging left


@pytest.mark.docker
async def test_a_missing_directory_is_path_not_found(
    docker_client: docker.DockerClient, scratch_image: str, tmp_path: Path
) -> None:
    with pytest.raises(images.PathNotFound):
        await images.extract_dir_from_image(scratch_image, "/nothing", tmp_path / "a" / "x", docker_client)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.docker
async def test_build_image_returns_the_id_and_reports_failures(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\n")
    (tmp_path / "ok" / "a.txt").write_text("a")
    image_id = await images.build_image(tmp_path / "ok", "circus-test-images:built", client=docker_client)
    assert image_id == await images.image_id("circus-test-images:built", docker_client)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "Dockerfile").write_text("FROM scratch\nCOPY missing.txt /m.txt\n")
    with pytest.raises(images.ImageError, match="Building circus-test-images:bad"):
        await images.build_image(tmp_path / "bad", "circus-test-images:bad", client=docker_client)


# ---- safe_extract_tar on hand-made archives (no Docker) -----------------------------------------


def make_tar(*members: tuple[str, str, bytes | str]) -> tarfile.TarFile:
    """members: (name, kind, data) with kind file | dir | sym | hard | fifo; data = content or link."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                assert isinstance(data, bytes)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE}[kind]
            if isinstance(data, str):
                info.linkname = data
            tar.addfile(info)
    buf.seek(0)
    return tarfile.open(fileobj=buf, mode="r")


HOSTILE = {  # case -> (members, the reason in the message)
    "absolute path": ([("/etc/cron.d/evil", "file", b"x")], "absolute path"),
    "dot-dot": ([("displays/../../evil.js", "file", b"x")], "'..'"),
    "outside the stripped directory": ([("other/evil.js", "file", b"x")], "outside displays/"),
    "absolute symlink": ([("displays/passwd", "sym", "/etc/passwd")], "link leaving"),
    "relative symlink escaping": ([("displays/up", "sym", "../../..")], "link leaving"),
    "hard link outside": ([("displays/h", "hard", "etc/passwd")], "outside displays/"),
    "hard link to a later entry": ([("displays/h", "hard", "displays/z.js"), ("displays/z.js", "file", b"x")],
                                   "hard link"),
    "fifo": ([("displays/pipe", "fifo", b"")], "special file"),
    "writing through a link": ([("displays/sub", "dir", b""), ("displays/sub/d", "sym", ".."),
                                ("displays/sub/d/x.js", "file", b"x")], "below a symlink"),
    "duplicate entry": ([("displays/a.js", "file", b"x"), ("displays/a.js", "sym", "b.js")], "duplicate"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_archives_are_refused_before_anything_is_written(case: str, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    members, reason = HOSTILE[case]
    tar = make_tar(("displays/", "dir", b""), ("displays/ok.js", "file", b"ok"), *members)
    with pytest.raises(images.UnsafeArchive, match=reason):
        images.safe_extract_tar(tar, dest, strip="displays")
    assert list(dest.iterdir()) == []


def test_a_benign_archive_is_extracted_with_safe_modes(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, mode in (("displays/run.sh", 0o4755), ("displays/a.js", 0o666)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = 1, mode
            tar.addfile(info, io.BytesIO(b"x"))
        link = tarfile.TarInfo("displays/b.js")
        link.type, link.linkname = tarfile.LNKTYPE, "displays/a.js"
        tar.addfile(link)
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tar:
        names = images.safe_extract_tar(tar, tmp_path, strip="displays")
    assert names == ["run.sh", "a.js", "b.js"]
    assert (tmp_path / "run.sh").stat().st_mode & 0o7777 == 0o755  # no setuid
    assert (tmp_path / "a.js").stat().st_mode & 0o7777 == 0o644  # not world-writable
    assert (tmp_path / "b.js").read_bytes() == b"x" and not (tmp_path / "b.js").is_symlink()
