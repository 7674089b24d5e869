"""Plug-in registration (spec 1.3): manifest rules without Docker, then the whole registration
from real (scratch) images into a real database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import docker
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import plugin_definitions
from job_manager import plugins
from tests.docker_support import build_scratch_image

MANIFEST: dict[str, Any] = {
    "type": "CAD",
    "pluginName": "Scratch CAD",
    "version": "1.2.3",
    "description": "A plug-in made for the tests.",
    "displayStrategy": [{"type": "Dump", "feedbackKey": "dump", "caption": "Results", "options": {}}],
}


def refusal(manifest: Any) -> str:
    with pytest.raises(plugins.RegistrationError) as info:
        plugins.validate_manifest(manifest)
    return info.value.message


def test_a_valid_manifest_passes_and_gets_the_defaults() -> None:
    definition = plugins.build_definition("a" * 64, plugins.validate_manifest(MANIFEST))
    assert definition == {
        "pluginId": "a" * 64,
        "pluginName": "Scratch CAD",
        "version": "1.2.3",
        "type": "CAD",
        "description": "A plug-in made for the tests.",
        "icon": {"glyph": "calc", "color": "#ffffff", "backgroundColor": "#008800"},
        "displayStrategy": MANIFEST["displayStrategy"],
        "runConfiguration": {"timeout": 900, "gpus": ""},
    }


def test_run_configuration_extensions_are_added_only_when_asked_and_checked() -> None:
    definition = plugins.build_definition("a" * 64, MANIFEST, {"memory": "2g", "cpus": 1.5, "timeout": 60})
    assert definition["runConfiguration"] == {"timeout": 60, "gpus": "", "memory": "2g", "cpus": 1.5}
    with pytest.raises(plugins.RegistrationError, match=r"\.runConfiguration\.cpus"):
        plugins.build_definition("a" * 64, MANIFEST, {"cpus": -1})


def test_manifest_validation_lists_every_problem_one_per_line() -> None:
    manifest = {**MANIFEST, "pluginName": "", "version": "1.0", "pluginId": "x", "runConfiguration": {},
                "icon": {"glyph": "calc"}}
    assert refusal(manifest) == "\n".join([
        "Manifest file validation failed.",
        "",
        "(manifest) Additional properties are not allowed ('pluginId', 'runConfiguration' were unexpected)",
        ".icon 'color' is a required property",
        ".icon 'backgroundColor' is a required property",
        ".pluginName '' should be non-empty",
        ".version '1.0' is not a 'semver'",
    ])


@pytest.mark.parametrize("missing", ["type", "pluginName", "version", "description"])
def test_the_four_manifest_keys_are_required(missing: str) -> None:
    manifest = {k: v for k, v in MANIFEST.items() if k != missing}
    assert refusal(manifest) == f"Manifest file validation failed.\n\n(manifest) '{missing}' is a required property"


def test_a_long_description_and_a_non_object_manifest_are_refused() -> None:
    assert refusal({**MANIFEST, "description": "d" * 129}).endswith(f".description '{'d' * 129}' is too long")
    assert refusal(["CAD"]) == "Manifest file validation failed.\n\n(manifest) ['CAD'] is not of type 'object'"


def test_the_type_must_be_cad() -> None:
    assert refusal({**MANIFEST, "type": "CAD+remote"}) == 'The plug-in type must be "CAD".'
    plugins.validate_manifest({**MANIFEST, "description": "d" * 128})  # the limit itself is fine


def test_a_manifest_that_is_not_json_is_a_validation_failure() -> None:
    with pytest.raises(plugins.RegistrationError, match=r"^Manifest file validation failed\.\n\n/plugin\.json is not"):
        plugins.parse_manifest(b"{not json")


# ---- with Docker and the database ---------------------------------------------------------------


@pytest.fixture(scope="module")
def plugin_image(docker_client: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_scratch_image(docker_client, tmp_path_factory.mktemp("img"), "circus-test-plugins:good", {
        "plugin.json": json.dumps(MANIFEST).encode(),
        "displays/remoteEntry.js": b"window.CircusCsModule = {};\n",
    })


def image_with(docker_client: docker.DockerClient, tmp_path: Path, tag: str, files: dict[str, bytes | str]) -> str:
    return build_scratch_image(docker_client, tmp_path / tag.replace(":", "-"), tag, files)


@pytest.mark.docker
async def test_registration_stores_the_definition_and_copies_the_displays(
    db: AsyncDatabase, docker_client: docker.DockerClient, plugin_image: str, tmp_path: Path
) -> None:
    shown: list[dict[str, Any]] = []
    definition = await plugins.register(db, "circus-test-plugins:good", tmp_path / "cache", docker_client,
                                        confirm=lambda d: shown.append(d) or True)
    assert definition is not None and shown == [definition]
    assert definition["pluginId"] == plugin_image  # the tag was resolved to the image ID
    stored = await plugin_definitions.find(db, plugin_image)
    assert stored is not None
    assert {k: v for k, v in stored.items() if k not in ("createdAt", "updatedAt")} == definition
    assert stored["createdAt"] == stored["updatedAt"]
    display = tmp_path / "cache" / plugin_image / "displays" / "remoteEntry.js"
    assert display.read_text() == "window.CircusCsModule = {};\n"
    assert [p["pluginId"] for p in await plugin_definitions.list_all(db)] == [plugin_image]


@pytest.mark.docker
async def test_declining_the_confirmation_changes_nothing(
    db: AsyncDatabase, docker_client: docker.DockerClient, plugin_image: str, tmp_path: Path
) -> None:
    assert await plugins.register(db, plugin_image, tmp_path / "cache", docker_client, confirm=lambda d: False) is None
    assert await plugin_definitions.list_all(db) == []
    assert not (tmp_path / "cache").exists()


@pytest.mark.docker
async def test_an_installed_plugin_is_refused(
    db: AsyncDatabase, docker_client: docker.DockerClient, plugin_image: str, tmp_path: Path
) -> None:
    await plugins.register(db, plugin_image, tmp_path, docker_client)
    with pytest.raises(plugins.RegistrationError, match=r"^This plug-in is already installed\.$"):
        await plugins.register(db, plugin_image, tmp_path, docker_client)


@pytest.mark.docker
async def test_the_same_name_and_version_from_another_image_is_refused(
    db: AsyncDatabase, docker_client: docker.DockerClient, plugin_image: str, tmp_path: Path
) -> None:
    await plugins.register(db, plugin_image, tmp_path, docker_client)
    other = image_with(docker_client, tmp_path, "circus-test-plugins:same-name", {
        "plugin.json": json.dumps(MANIFEST).encode(), "other.txt": b"makes another image ID",
    })
    assert other != plugin_image
    with pytest.raises(plugins.RegistrationError) as info:
        await plugins.register(db, other, tmp_path, docker_client)
    assert info.value.message == (
        f"A plug-in named Scratch CAD with version 1.2.3 is already installed (plug-in ID {plugin_image})."
    )
    # a new version of the same plug-in is welcome
    newer = image_with(docker_client, tmp_path, "circus-test-plugins:newer", {
        "plugin.json": json.dumps({**MANIFEST, "version": "1.2.4"}).encode(),
    })
    assert (await plugins.register(db, newer, tmp_path, docker_client) or {})["version"] == "1.2.4"


@pytest.mark.docker
async def test_images_with_bad_manifests_are_refused(
    db: AsyncDatabase, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    cases = {
        "invalid": (json.dumps({**MANIFEST, "runConfiguration": {"timeout": 1}}).encode(),
                    "Manifest file validation failed.\n\n(manifest) Additional properties are not allowed "
                    "('runConfiguration' was unexpected)"),
        "remote": (json.dumps({**MANIFEST, "type": "CAD+remote"}).encode(), 'The plug-in type must be "CAD".'),
        "not-json": (b"\xff\xfe", "Manifest file validation failed.\n\n/plugin.json is not valid JSON: "),
    }
    for name, (manifest, message) in cases.items():
        image = image_with(docker_client, tmp_path, f"circus-test-plugins:{name}", {"plugin.json": manifest})
        with pytest.raises(plugins.RegistrationError) as info:
            await plugins.register(db, image, tmp_path, docker_client)
        assert info.value.message.startswith(message), name
    assert await plugin_definitions.list_all(db) == []


@pytest.mark.docker
async def test_an_image_without_manifest_or_an_unknown_image_is_refused(
    db: AsyncDatabase, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    bare = image_with(docker_client, tmp_path, "circus-test-plugins:bare", {"readme.txt": b"no manifest"})
    with pytest.raises(plugins.RegistrationError, match=r"^Cannot read /plugin\.json from the image: No such file"):
        await plugins.register(db, bare, tmp_path, docker_client)
    with pytest.raises(plugins.RegistrationError, match=r"^No such image: circus-test-plugins:absent"):
        await plugins.register(db, "circus-test-plugins:absent", tmp_path, docker_client)
    with pytest.raises(plugins.RegistrationError, match="No such image"):
        await plugins.register(db, "f" * 64, tmp_path, docker_client)


@pytest.mark.docker
async def test_hostile_displays_block_the_registration(
    db: AsyncDatabase, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    image = image_with(docker_client, tmp_path, "circus-test-plugins:hostile-displays", {
        "plugin.json": json.dumps(MANIFEST).encode(), "displays/passwd": "/etc/passwd",
    })
    with pytest.raises(plugins.RegistrationError, match="Cannot copy /displays from the image: Refused link"):
        await plugins.register(db, image, tmp_path / "cache", docker_client)
    assert await plugin_definitions.list_all(db) == []
