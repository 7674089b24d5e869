"""`circus plugin register | list | build-samples` (spec 8 register-cad-plugin) against the test
database and the local Docker engine."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from click.testing import Result
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from admin import plugin_cli
from circus_api.settings import Settings
from tests.admin.conftest import CircusCli
from tests.docker_support import build_scratch_image, connect, ensure_base_image

pytestmark = pytest.mark.docker

MANIFEST = {"type": "CAD", "pluginName": "Scratch CLI", "version": "1.0.0", "description": "For the CLI tests."}


@pytest.fixture(scope="module")
def docker_client() -> Iterator[docker.DockerClient]:
    client = connect()
    yield client
    client.close()


@pytest.fixture(scope="module")
def images(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """name -> image ID of small scratch images with different manifests."""
    root = tmp_path_factory.mktemp("cli-images")
    manifests: dict[str, dict[str, Any]] = {
        "good": MANIFEST,
        "same": MANIFEST,  # same name and version, another image (an extra file)
        "invalid": {**MANIFEST, "pluginId": "x", "version": "one"},
        "remote": {**MANIFEST, "type": "CAD+remote"},
    }
    ids = {}
    for name, manifest in manifests.items():
        files: dict[str, bytes | str] = {"plugin.json": json.dumps(manifest).encode()}
        if name == "good":
            files["displays/remoteEntry.js"] = b"// display\n"
        if name == "same":
            files["extra.txt"] = b"another image"
        ids[name] = build_scratch_image(docker_client, root / name, f"circus-test-cli:{name}", files)
    return ids


@pytest.fixture
def run_cli(circus_cli: CircusCli) -> Callable[..., Result]:
    def run(*args: str, input: str | None = None) -> Result:
        return circus_cli("plugin", *args, input=input)

    return run


def test_register_with_yes_stores_the_plugin_and_its_displays(
    run_cli: Any, images: dict[str, str], sync_db: Database, tmp_path: Path
) -> None:
    result = run_cli("register", "circus-test-cli:good", "--yes")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("Registered Scratch CLI v1.0.0\n")
    shown = json.loads(result.output[: result.output.rindex("}") + 1])  # the document is shown first
    assert shown["pluginId"] == images["good"]
    stored = sync_db.pluginDefinitions.find_one({"pluginId": images["good"]}, {"_id": 0})
    assert stored is not None
    assert stored["runConfiguration"] == {"timeout": 900, "gpus": ""}
    assert stored["icon"] == {"glyph": "calc", "color": "#ffffff", "backgroundColor": "#008800"}
    assert (tmp_path / "data" / "plugin-cache" / images["good"] / "displays" / "remoteEntry.js").is_file()
    listed = run_cli("list")
    assert listed.exit_code == 0
    assert listed.output == f"{images['good']}\tCAD\tScratch CLI\tv1.0.0\n"


def test_register_asks_for_confirmation(run_cli: Any, images: dict[str, str], sync_db: Database) -> None:
    declined = run_cli("register", images["good"], input="n\n")
    assert declined.exit_code == 0
    assert "Is this OK? [y/N]" in declined.output and declined.output.endswith("Cancelled.\n")
    assert sync_db.pluginDefinitions.count_documents({}) == 0
    accepted = run_cli("register", images["good"], input="y\n")
    assert accepted.exit_code == 0 and accepted.output.endswith("Registered Scratch CLI v1.0.0\n")


def test_register_takes_run_configuration_extensions(run_cli: Any, images: dict[str, str], sync_db: Database) -> None:
    result = run_cli("register", images["good"], "-y", "--timeout", "60", "--memory", "2g", "--cpus", "1.5")
    assert result.exit_code == 0, result.output
    stored = sync_db.pluginDefinitions.find_one({"pluginId": images["good"]})
    assert stored is not None
    assert stored["runConfiguration"] == {"timeout": 60, "gpus": "", "memory": "2g", "cpus": 1.5}


def test_an_installed_plugin_is_refused(run_cli: Any, images: dict[str, str]) -> None:
    assert run_cli("register", images["good"], "-y").exit_code == 0
    again = run_cli("register", images["good"], "-y")
    assert again.exit_code == 1
    assert again.output == "Error: This plug-in is already installed.\n"


def test_the_same_name_and_version_is_refused(run_cli: Any, images: dict[str, str]) -> None:
    assert run_cli("register", images["good"], "-y").exit_code == 0
    same = run_cli("register", images["same"], "-y")
    assert same.exit_code == 1
    assert same.output == (
        f"Error: A plug-in named Scratch CLI with version 1.0.0 is already installed (plug-in ID {images['good']}).\n"
    )


def test_manifest_validation_failures_are_printed_line_by_line(run_cli: Any, images: dict[str, str]) -> None:
    result = run_cli("register", images["invalid"], "-y")
    assert result.exit_code == 1
    assert result.output == (
        "Error: Manifest file validation failed.\n\n"
        "(manifest) Additional properties are not allowed ('pluginId' was unexpected)\n"
        ".version 'one' is not a 'semver'\n"
    )


def test_the_type_must_be_cad(run_cli: Any, images: dict[str, str], sync_db: Database) -> None:
    result = run_cli("register", images["remote"], "-y")
    assert result.exit_code == 1
    assert result.output == 'Error: The plug-in type must be "CAD".\n'
    assert sync_db.pluginDefinitions.count_documents({}) == 0


def test_an_unknown_image_is_refused(run_cli: Any, docker_client: docker.DockerClient) -> None:
    result = run_cli("register", "circus-test-cli:absent", "-y")
    assert result.exit_code == 1
    assert result.output.startswith("Error: No such image: circus-test-cli:absent")


# ---- build-samples and the first start of `circus up` -------------------------------------------


def sample_tree(root: Path, broken: bool = False) -> Path:
    """A plugins/ folder with one sample, one test plug-in and (optionally) one that cannot build."""
    entries = {"one": "Sample One", "test/two": "Test Two"} | ({"broken": "Broken"} if broken else {})
    for folder, name in entries.items():
        path = root / folder
        path.mkdir(parents=True)
        manifest = {**MANIFEST, "pluginName": name, "version": "0.1.0"}
        (path / "plugin.json").write_text(json.dumps(manifest))
        source = "missing.py" if folder == "broken" else "plugin.json"
        (path / "Dockerfile").write_text(
            f"FROM circus-plugin-base:bookworm\nCOPY {source} /plugin.json\nUSER 10001:10001\nCMD [\"true\"]\n"
        )
    return root


def test_build_samples_builds_and_registers(
    run_cli: Any, docker_client: docker.DockerClient, sync_db: Database, tmp_path: Path
) -> None:
    ensure_base_image(docker_client)
    plugins_dir = sample_tree(tmp_path / "plugins")
    built = run_cli("build-samples", "--plugins-dir", str(plugins_dir))
    assert built.exit_code == 0, built.output
    assert "circus-plugin-one:0.1.0" in built.output and "two" not in built.output
    assert sync_db.pluginDefinitions.count_documents({}) == 0  # not without --register
    registered = run_cli("build-samples", "--plugins-dir", str(plugins_dir), "--register", "--tests")
    assert registered.exit_code == 0, registered.output
    rows = [line for line in registered.output.splitlines() if not line.startswith("Building ")]
    assert rows[0].split() == ["PLUG-IN", "VERSION", "TAG", "IMAGE", "ID", "STATUS"]
    assert [r.split("  ")[0] for r in rows[1:]] == ["Sample One", "Test Two"]
    assert all(r.endswith("registered") for r in rows[1:])
    assert sorted(d["pluginName"] for d in sync_db.pluginDefinitions.find()) == ["Sample One", "Test Two"]
    again = run_cli("build-samples", "--plugins-dir", str(plugins_dir), "--register")
    assert again.output.splitlines()[-1].endswith("already registered")  # same content, same image ID


def test_build_samples_reports_a_broken_sample(
    run_cli: Any, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    ensure_base_image(docker_client)
    result = run_cli("build-samples", "--plugins-dir", str(sample_tree(tmp_path / "plugins", broken=True)))
    assert result.exit_code == 1
    assert "Broken" in result.output and "build failed: Building circus-plugin-broken:0.1.0" in result.output
    assert result.output.endswith("Error: Some sample plug-ins could not be built.\n")


async def test_first_start_installs_the_samples_once(
    db: AsyncDatabase, docker_client: docker.DockerClient, settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ensure_base_image(docker_client)
    monkeypatch.setattr(plugin_cli, "PLUGINS_DIR", sample_tree(tmp_path / "plugins"))
    lines: list[str] = []
    await plugin_cli.install_samples_on_first_start(db, settings, lines.append)
    assert lines[0].startswith("No plug-in registered yet")
    assert [d["pluginName"] for d in await db.pluginDefinitions.find().to_list()] == ["Sample One"]
    lines.clear()
    await plugin_cli.install_samples_on_first_start(db, settings, lines.append)
    assert lines == []  # something is registered: nothing to do


async def test_first_start_failures_are_only_a_warning(
    db: AsyncDatabase, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_engine(*args: Any, **kwargs: Any) -> None:
        raise docker.errors.DockerException("engine gone")

    monkeypatch.setattr(plugin_cli, "ensure_base_image", no_engine)
    lines: list[str] = []
    await plugin_cli.install_samples_on_first_start(db, settings, lines.append)
    assert lines[-1] == "warning: the sample plug-ins were not installed: engine gone"
