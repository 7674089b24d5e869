"""Docker helpers shared by the plug-in tests (tests/plugins, tests/job_manager, tests/admin).

No engine, or no way to make the base image: the test skips locally but fails under CI=true,
where the Docker tests must run (style note 2.4). The base image is built on demand with
plugins/base/build.sh (about a minute, needs root), sample images are built once per session
and tagged like `circus plugin build-samples` does; docker's layer cache makes rebuilds cheap.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import NoReturn

import docker
import docker.errors
import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parent.parent
PLUGINS_DIR = ROOT / "plugins"
BASE_IMAGE = "circus-plugin-base:bookworm"

_built: dict[str, str] = {}  # plug-in folder -> image ID, for this session


def unavailable(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the Docker tests must run)")
    pytest.skip(reason)


def connect() -> docker.DockerClient:
    """A client of the local engine, or skip / fail."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:
        unavailable(f"no Docker engine: {exc}")
    return client


def ensure_base_image(client: docker.DockerClient) -> str:
    """The base image's ID; runs plugins/base/build.sh when the image is missing."""
    try:
        return str(client.images.get(BASE_IMAGE).id)
    except docker.errors.ImageNotFound:
        pass
    result = subprocess.run(["bash", str(PLUGINS_DIR / "base" / "build.sh")], capture_output=True, text=True,
                            timeout=1200, check=False)
    if result.returncode != 0:
        unavailable(f"{BASE_IMAGE} is missing and plugins/base/build.sh failed:\n{result.stdout}\n{result.stderr}")
    return str(client.images.get(BASE_IMAGE).id)


def build_plugin(client: docker.DockerClient, relative: str) -> str:
    """Build plugins/<relative> (e.g. `measurement`, `test/hangs`) once per session; its image ID."""
    if relative not in _built:
        ensure_base_image(client)
        folder = PLUGINS_DIR / relative
        version = json.loads((folder / "plugin.json").read_text())["version"]
        tag = "circus-plugin-" + relative.replace("/", "-") + f":{version}"
        image, _ = client.images.build(path=str(folder), tag=tag, rm=True, forcerm=True, network_mode="none")
        _built[relative] = str(image.id).removeprefix("sha256:")
    return _built[relative]


def run_sandboxed(
    client: docker.DockerClient, image: str, in_dir: Path, out_dir: Path, *, timeout: float = 120,
    mem_limit: str = "1g",
) -> tuple[int, str, str, bool]:
    """Run a plug-in image as the job manager does (infrastructure note 4): no network, read-only
    root, uid 10001, no capabilities, limits, /tmp tmpfs. Returns (exit code, stdout, stderr, OOM-killed)."""
    import requests  # the SDK's transport, for its timeout error

    out_dir.chmod(0o777)  # written by uid 10001
    container = client.containers.run(
        image, detach=True, network_mode="none", read_only=True, user="10001:10001",
        mem_limit=mem_limit, memswap_limit=mem_limit, pids_limit=64, nano_cpus=1_000_000_000,
        cap_drop=["ALL"], security_opt=["no-new-privileges"], tmpfs={"/tmp": "rw,size=64m,mode=1777"},
        volumes={
            str(in_dir): {"bind": "/circus/in", "mode": "ro"},
            str(out_dir): {"bind": "/circus/out", "mode": "rw"},
        },
        labels={"circus.test": "plugins"},
    )
    try:
        try:
            status = container.wait(timeout=timeout)
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            container.kill()
            status = container.wait(timeout=30)
        stdout = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
        stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        container.reload()
        oom = bool(container.attrs["State"].get("OOMKilled"))
        return int(status["StatusCode"]), stdout, stderr, oom
    finally:
        container.remove(force=True)


def build_scratch_image(
    client: docker.DockerClient, context: Path, tag: str, files: dict[str, bytes | str]
) -> str:
    """A `FROM scratch` image holding `files` (path -> bytes, or str = symlink target); its ID.

    No base image and no registry needed; nothing in it can run, so reading from it proves that
    nothing was run."""
    context.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = context / "root" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.symlink_to(content)
        else:
            path.write_bytes(content)
    (context / "root").mkdir(exist_ok=True)
    (context / "Dockerfile").write_text("FROM scratch\nCOPY root/ /\n")
    image, _ = client.images.build(path=str(context), tag=tag, rm=True, forcerm=True, network_mode="none")
    return str(image.id).removeprefix("sha256:")
