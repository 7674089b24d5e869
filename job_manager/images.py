"""Docker image helpers for plug-ins: read files out of an image without running it, resolve
image IDs, build images. The docker SDK is synchronous, so every public function is async and
runs the SDK in a worker thread (style note 2.6); callers just await.

Reading (spec 1.3 step 5 and 1.4): a throw-away container is *created* from the image (never
started), the path is fetched as a tar archive through the Docker API, and the container is
removed whatever happens. Archives from an image are untrusted: `safe_extract_tar` refuses
absolute names, `..`, links that leave the destination, devices, and oversized archives.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import IO, Any

import anyio.to_thread
import docker
import docker.errors
from docker import DockerClient
from docker.models.containers import Container

DOCKER_ID = re.compile(r"[a-z0-9]{64}")  # spec 1.1 "dockerId": a full image ID without `sha256:`
API_TIMEOUT_S = 300  # builds stream for a while; plain calls return at once
MAX_FILE_BYTES = 16 * 1024 * 1024  # a manifest is a few KB
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024  # a display bundle is a few MB
MAX_ARCHIVE_MEMBERS = 20_000
NEVER_RUN = ["/circus-extract-only"]  # create() needs a command when the image has none


class ImageError(Exception):
    """A Docker image could not be read or built; the message is meant for a person."""


class ImageNotFound(ImageError):
    pass


class PathNotFound(ImageError):
    """The image has no such file or directory."""


class UnsafeArchive(ImageError):
    """An archive member would land outside the destination or is not a plain file/dir/link."""


def docker_client() -> DockerClient:
    """A client for the engine of the environment (DOCKER_HOST or the local socket)."""
    return docker.from_env(timeout=API_TIMEOUT_S)


@contextlib.contextmanager
def _client(client: DockerClient | None) -> Iterator[DockerClient]:
    if client is not None:
        yield client
        return
    owned = docker_client()
    try:
        yield owned
    finally:
        owned.close()


@contextlib.contextmanager
def _created_container(client: DockerClient, image: str) -> Iterator[Container]:
    try:
        container = client.containers.create(
            image, command=NEVER_RUN, network_disabled=True, labels={"circus.purpose": "extract"}
        )
    except docker.errors.ImageNotFound:
        raise ImageNotFound(f"No such image: {image}") from None
    try:
        yield container
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)


def _fetch_archive(container: Container, path: str, out: IO[bytes], limit: int) -> None:
    try:
        chunks, _stat = container.get_archive(path)
    except docker.errors.NotFound:
        raise PathNotFound(f"No such file or directory in the image: {path}") from None
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise ImageError(f"{path} in the image is larger than {limit} bytes")
        out.write(chunk)
    out.seek(0)


# ---- image IDs ----------------------------------------------------------------------------------


def _image_id_sync(ref: str, client: DockerClient | None) -> str:
    with _client(client) as c:
        try:
            image = c.images.get(ref)
        except docker.errors.ImageNotFound:
            raise ImageNotFound(f"No such image: {ref}") from None
        except docker.errors.APIError as exc:  # e.g. an invalid reference format
            raise ImageNotFound(f"No such image: {ref} ({exc.explanation or exc})") from None
    return str(image.id).removeprefix("sha256:")


async def image_id(ref: str, client: DockerClient | None = None) -> str:
    """The full 64-hex image ID of a tag, a short ID or an ID."""
    return await anyio.to_thread.run_sync(partial(_image_id_sync, ref, client))


# ---- reading files ------------------------------------------------------------------------------


def _read_file_sync(image: str, path: str, client: DockerClient | None, max_bytes: int) -> bytes:
    with _client(client) as c, _created_container(c, image) as container, tempfile.SpooledTemporaryFile() as buf:
        _fetch_archive(container, path, buf, max_bytes + 64 * 1024)  # + tar headers
        with tarfile.open(fileobj=buf, mode="r|") as tar:
            for member in tar:
                # the archive of a file holds one entry named after its basename (spec 1.3)
                if member.name != posixpath.basename(path.rstrip("/")):
                    continue
                if not member.isreg():
                    raise ImageError(f"{path} in the image is not a regular file")
                data = tar.extractfile(member)
                assert data is not None
                return data.read()
    raise PathNotFound(f"No such file in the image: {path}")


async def read_file_from_image(
    image: str, path: str, client: DockerClient | None = None, max_bytes: int = MAX_FILE_BYTES
) -> bytes:
    """The bytes of one file of an image (e.g. `/plugin.json`), without running the image."""
    return await anyio.to_thread.run_sync(partial(_read_file_sync, image, path, client, max_bytes))


def _extract_dir_sync(image: str, src: str, dest: Path, client: DockerClient | None) -> list[str]:
    src = src.rstrip("/") or "/"
    with _client(client) as c, _created_container(c, image) as container, tempfile.TemporaryFile() as buf:
        _fetch_archive(container, src, buf, MAX_ARCHIVE_BYTES)
        dest.parent.mkdir(parents=True, exist_ok=True)  # only now: a missing src leaves no trace
        # extract next to dest and rename: readers never see a half-written directory
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
        try:
            with tarfile.open(fileobj=buf, mode="r:") as tar:
                names = safe_extract_tar(tar, staging, strip=posixpath.basename(src))
            if dest.exists():
                shutil.rmtree(dest)
            staging.rename(dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return names


async def extract_dir_from_image(
    image: str, src: str, dest: Path, client: DockerClient | None = None
) -> list[str]:
    """Copy the *contents* of directory `src` of an image into `dest` (replaced if it exists),
    e.g. `/displays/remoteEntry.js` -> `dest/remoteEntry.js`. Returns the relative paths written.
    Raises PathNotFound when the image has no `src`, UnsafeArchive for a hostile archive."""
    return await anyio.to_thread.run_sync(partial(_extract_dir_sync, image, src, Path(dest), client))


def _member_path(name: str, strip: str | None) -> str | None:
    """The member's path relative to the destination, '' for the top directory itself."""
    if name.startswith("/") or "\\" in name:
        raise UnsafeArchive(f"Refused archive entry with an absolute path: {name}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"Refused archive entry with '..': {name}")
    if strip is not None:
        if not parts or parts[0] != strip:
            raise UnsafeArchive(f"Refused archive entry outside {strip}/: {name}")
        parts = parts[1:]
    return "/".join(parts)


def _inside(root: Path, target: str) -> bool:
    resolved = os.path.normpath(os.path.join(root, target))
    return resolved == str(root) or resolved.startswith(str(root) + os.sep)


def safe_extract_tar(
    tar: tarfile.TarFile, dest: Path, strip: str | None = None, max_bytes: int = MAX_ARCHIVE_BYTES
) -> list[str]:
    """Extract an untrusted tar into the existing directory `dest`; every member is checked
    before anything is written. `strip` is a top-level directory name to remove (Docker's
    archive of `/displays` holds `displays/...`). Files get mode 0644/0755, never setuid.

    Symlinks are allowed only when they point inside `dest`; no other member may pass through
    one, and they are created last, so nothing is ever written through a link."""
    dest = Path(os.path.realpath(dest))
    plan: dict[str, tarfile.TarInfo] = {}
    total = 0
    for member in tar.getmembers():
        if len(plan) >= MAX_ARCHIVE_MEMBERS:
            raise UnsafeArchive(f"Refused archive with more than {MAX_ARCHIVE_MEMBERS} entries")
        rel = _member_path(member.name, strip)
        if not rel:
            continue
        if rel in plan:
            raise UnsafeArchive(f"Refused archive with a duplicate entry: {member.name}")
        if member.issym():
            target = posixpath.join(posixpath.dirname(rel), member.linkname)
            if member.linkname.startswith("/") or not _inside(dest, target):
                raise UnsafeArchive(f"Refused link leaving the destination: {member.name} -> {member.linkname}")
        elif member.islnk():
            linked = _member_path(member.linkname, strip)
            if not linked or linked not in plan or not plan[linked].isreg():
                raise UnsafeArchive(f"Refused hard link: {member.name} -> {member.linkname}")
        elif not (member.isreg() or member.isdir()):
            raise UnsafeArchive(f"Refused special file: {member.name}")
        total += member.size if member.isreg() else 0
        if total > max_bytes:
            raise UnsafeArchive(f"Refused archive larger than {max_bytes} bytes")
        plan[rel] = member
    links = {rel for rel, member in plan.items() if member.issym()}
    for rel in plan:
        parts = rel.split("/")
        if any("/".join(parts[:i]) in links for i in range(1, len(parts))):
            raise UnsafeArchive(f"Refused archive entry below a symlink: {rel}")
    ordered = sorted(plan.items(), key=lambda item: item[1].issym())  # links last (stable sort)
    for rel, member in ordered:
        target_path = dest / rel
        target_path.parent.mkdir(parents=True, exist_ok=True)
        if member.isdir():
            target_path.mkdir(exist_ok=True)
        elif member.issym():
            os.symlink(member.linkname, target_path)
        elif member.islnk():
            # a hard link to a regular file of the archive, already written: copy it
            shutil.copyfile(dest / (_member_path(member.linkname, strip) or ""), target_path)
        else:
            data = tar.extractfile(member)
            assert data is not None
            with open(target_path, "wb") as out:
                shutil.copyfileobj(data, out)
            target_path.chmod(0o755 if member.mode & 0o111 else 0o644)
    return list(plan)


# ---- building -----------------------------------------------------------------------------------


def _build_log_tail(log: Any, lines: int = 15) -> str:
    text = "".join(str(entry.get("stream", "") or entry.get("error", "")) for entry in log or [])
    return "\n".join(text.strip().splitlines()[-lines:])


def _build_sync(path: Path, tag: str, network_mode: str | None, client: DockerClient | None) -> str:
    with _client(client) as c:
        try:
            image, _log = c.images.build(
                path=str(path), tag=tag, rm=True, forcerm=True, pull=False, network_mode=network_mode
            )
        except docker.errors.BuildError as exc:
            tail = _build_log_tail(exc.build_log)
            raise ImageError(f"Building {tag} from {path} failed: {exc.msg}\n{tail}") from None
        except docker.errors.APIError as exc:
            raise ImageError(f"Building {tag} from {path} failed: {exc.explanation or exc}") from None
    return str(image.id).removeprefix("sha256:")


async def build_image(
    path: Path, tag: str, network_mode: str | None = "none", client: DockerClient | None = None
) -> str:
    """Build the Dockerfile in `path` as `tag` and return the 64-hex image ID. Offline by
    default: the samples only COPY files onto a local base image."""
    return await anyio.to_thread.run_sync(partial(_build_sync, Path(path), tag, network_mode, client))


def engine_answers(client: DockerClient | None = None) -> bool:
    """True when a Docker engine answers a ping (blocking; a quick check for CLIs)."""
    try:
        with _client(client) as c:
            return bool(c.ping())
    except Exception:  # no socket, permission denied, engine down: all mean "no engine"
        return False


def image_exists(ref: str, client: DockerClient | None = None) -> bool:
    with _client(client) as c:
        try:
            c.images.get(ref)
        except docker.errors.ImageNotFound:
            return False
    return True

