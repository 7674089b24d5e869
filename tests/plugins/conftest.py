"""Fixtures of the sample plug-in tests: the plug-ins' Python cores loaded from plugins/, a Docker
client, and a synthetic chest phantom in the job manager's input layout."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import docker
import pytest

from tests.docker_support import PLUGINS_DIR, connect, ensure_base_image
from tests.plugins.phantom import Phantom, make_chest_phantom, write_input


def load_plugin_module(folder: str, name: str) -> ModuleType:
    """Import plugins/<folder>/<name>.py as the container does (its folder first on sys.path)."""
    path = PLUGINS_DIR / folder
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    spec = importlib.util.spec_from_file_location(name, path / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def detector() -> ModuleType:
    return load_plugin_module("lung-nodule-detector", "detector")


@pytest.fixture(scope="session")
def measure() -> ModuleType:
    return load_plugin_module("measurement", "measure")


@pytest.fixture(scope="session")
def phantom() -> Phantom:
    return make_chest_phantom()


@pytest.fixture
def phantom_input(phantom: Phantom, tmp_path: Path) -> Path:
    """`in/` with 0.mhd, 0.raw, 0.json of the phantom."""
    write_input(tmp_path / "in", [(phantom.hu, phantom.spacing)])
    return tmp_path / "in"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """Skips locally / fails under CI=true when no engine answers; makes sure the base image exists."""
    client = connect()
    ensure_base_image(client)
    yield client
    client.close()
