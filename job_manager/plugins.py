"""Registering a CAD plug-in from its Docker image (spec 1.3), reusable by the CLI and the API.

Steps, in CIRCUS's order: the image reference becomes the 64-hex image ID (the plug-in ID);
an installed ID is refused; `/plugin.json` is read from the image without running it and
validated; the type must be `CAD`; the document gets its defaults; a plug-in with the same
name and version is refused (CIRCUS's check never fires because of a misspelt field: spec 1.3
step 9, Re-impl); after confirmation the image's `/displays` is copied into the plug-in cache
and the document inserted.

Decisions:
- The manifest schema types `type` as a plain string, so a non-CAD manifest gets CIRCUS's
  dedicated message (`The plug-in type must be "CAD".`) instead of an enum error.
- `runConfiguration` keeps CIRCUS's defaults `{timeout: 900, gpus: ""}`. Our extensions
  `memory` (Docker size such as "2g") and `cpus` (number) are optional and only stored when the
  operator asks for them; the runner applies its own defaults otherwise (job_manager/runner.py).
- Displays land in `<plugin cache>/<pluginId>/displays/` (the *contents* of the image's
  `/displays`), so `GET /plugin-displays/<id>/displays/remoteEntry.js` maps to
  `<plugin cache>/<id>/displays/remoteEntry.js` without CIRCUS's doubled `displays/displays`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docker import DockerClient
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import plugin_definitions
from circus_api.db.documents import DuplicateKey
from job_manager import images

MANIFEST_PATH = "/plugin.json"
DISPLAYS_PATH = "/displays"
DEFAULT_ICON = {"glyph": "calc", "color": "#ffffff", "backgroundColor": "#008800"}
DEFAULT_RUN_CONFIGURATION: dict[str, Any] = {"timeout": 900, "gpus": ""}

# semver.valid's grammar (semver.org 2.0.0), as the `semver` format of circus_api.validation
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-.]+)?$"
)
_FORMATS = FormatChecker()


@_FORMATS.checks("semver")
def _is_semver(value: object) -> bool:
    return not isinstance(value, str) or bool(_SEMVER.match(value))


@_FORMATS.checks("dockerId")
def _is_docker_id(value: object) -> bool:
    return not isinstance(value, str) or bool(images.DOCKER_ID.fullmatch(value))


ICON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"glyph": {"type": "string"}, "color": {"type": "string"}, "backgroundColor": {"type": "string"}},
    "required": ["glyph", "color", "backgroundColor"],
    "additionalProperties": False,
}
DISPLAY_STRATEGY_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "feedbackKey": {"type": "string"},
            "caption": {"type": "string"},
            "options": {"type": "object"},
        },
    },
}
# spec 1.3 step 6: the `plugin` schema restricted to these properties, nothing else allowed
MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "pluginName": {"type": "string", "minLength": 1, "maxLength": 128},
        "version": {"type": "string", "format": "semver"},
        "description": {"type": "string", "maxLength": 128},
        "icon": ICON_SCHEMA,
        "displayStrategy": DISPLAY_STRATEGY_SCHEMA,
    },
    "required": ["type", "pluginName", "version", "description"],
    "additionalProperties": False,
}
# a stored CAD definition (spec 1.1 / api 6.6) with our optional runConfiguration extensions
PLUGIN_DEFINITION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **MANIFEST_SCHEMA["properties"],
        "type": {"enum": ["CAD"]},
        "pluginId": {"type": "string", "format": "dockerId"},
        "runConfiguration": {
            "type": "object",
            "properties": {
                "timeout": {"type": "integer", "minimum": 0},
                "gpus": {"type": "string"},
                "memory": {"type": ["string", "integer"]},  # extension: "512m", "4g" or bytes
                "cpus": {"type": "number", "exclusiveMinimum": 0},  # extension
            },
            "additionalProperties": False,
        },
    },
    "required": ["pluginId", "type", "pluginName", "version", "description", "icon", "displayStrategy",
                 "runConfiguration"],
    "additionalProperties": False,
}
_MANIFEST_VALIDATOR = Draft7Validator(MANIFEST_SCHEMA, format_checker=_FORMATS)
_DEFINITION_VALIDATOR = Draft7Validator(PLUGIN_DEFINITION_SCHEMA, format_checker=_FORMATS)


class RegistrationError(Exception):
    """Registration refused; the message is CIRCUS's where it has one."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _error_line(error: ValidationError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"{path or '(manifest)'} {error.message}"


def validation_messages(validator: Draft7Validator, value: Any) -> list[str]:
    errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    return [_error_line(e) for e in errors]


def parse_manifest(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        message = f"{MANIFEST_PATH} is not valid JSON: {exc}"
        raise RegistrationError(f"Manifest file validation failed.\n\n{message}") from None


def validate_manifest(manifest: Any) -> dict[str, Any]:
    """The manifest itself when valid; RegistrationError with spec 1.3 steps 6-7 messages."""
    messages = validation_messages(_MANIFEST_VALIDATOR, manifest)
    if messages:
        raise RegistrationError("Manifest file validation failed.\n\n" + "\n".join(messages))
    if manifest["type"] != "CAD":
        raise RegistrationError('The plug-in type must be "CAD".')
    return dict(manifest)


def build_definition(
    plugin_id: str, manifest: dict[str, Any], run_configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Spec 1.3 step 8: the document to insert (without createdAt/updatedAt)."""
    definition = {
        "pluginId": plugin_id,
        "pluginName": manifest["pluginName"],
        "version": manifest["version"],
        "type": "CAD",
        "description": manifest.get("description") or "",
        "icon": manifest.get("icon") or dict(DEFAULT_ICON),
        "displayStrategy": manifest.get("displayStrategy") or [],
        "runConfiguration": {**DEFAULT_RUN_CONFIGURATION, **(run_configuration or {})},
    }
    messages = validation_messages(_DEFINITION_VALIDATOR, definition)
    if messages:  # only our own overrides (memory, cpus, timeout) can get here
        raise RegistrationError("Invalid plug-in definition.\n\n" + "\n".join(messages))
    return definition


async def list_plugins(db: AsyncDatabase) -> list[dict[str, Any]]:
    return await plugin_definitions.list_all(db)


async def is_installed(db: AsyncDatabase, plugin_id: str) -> bool:
    return await plugin_definitions.find(db, plugin_id) is not None


async def resolve_plugin_id(image: str, client: DockerClient | None = None) -> str:
    """A 64-hex image ID as is (spec 1.3 step 3), anything else (a tag, a short ID) looked up."""
    if images.DOCKER_ID.fullmatch(image):
        return image
    try:
        return await images.image_id(image, client)
    except images.ImageNotFound as exc:
        raise RegistrationError(f"{exc} (give a tag or the 64-char image ID).") from None


async def prepare(
    db: AsyncDatabase,
    image: str,
    client: DockerClient | None = None,
    run_configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every check of spec 1.3 before the confirmation; returns the document to insert."""
    await plugin_definitions.ensure_index(db)
    plugin_id = await resolve_plugin_id(image, client)
    if await is_installed(db, plugin_id):
        raise RegistrationError("This plug-in is already installed.")
    try:
        data = await images.read_file_from_image(plugin_id, MANIFEST_PATH, client)
    except images.ImageError as exc:
        raise RegistrationError(f"Cannot read {MANIFEST_PATH} from the image: {exc}") from None
    definition = build_definition(plugin_id, validate_manifest(parse_manifest(data)), run_configuration)
    same = await plugin_definitions.find_by_name_version(db, definition["pluginName"], definition["version"])
    if same:
        raise RegistrationError(
            f"A plug-in named {definition['pluginName']} with version {definition['version']} "
            f"is already installed (plug-in ID {same['pluginId']})."
        )
    return definition


async def copy_displays(
    plugin_id: str, plugin_cache_dir: Path, client: DockerClient | None = None
) -> list[str]:
    """The image's `/displays` into `<cache>/<pluginId>/displays`; [] when the image has none."""
    try:
        return await images.extract_dir_from_image(plugin_id, DISPLAYS_PATH, plugin_cache_dir / plugin_id / "displays",
                                                   client)
    except images.PathNotFound:
        return []
    except images.ImageError as exc:
        raise RegistrationError(f"Cannot copy {DISPLAYS_PATH} from the image: {exc}") from None


async def install(
    db: AsyncDatabase, definition: dict[str, Any], plugin_cache_dir: Path, client: DockerClient | None = None
) -> list[str]:
    """Copy the displays, then insert the document; returns the display files copied."""
    displays = await copy_displays(definition["pluginId"], plugin_cache_dir, client)
    try:
        await plugin_definitions.insert(db, definition)
    except DuplicateKey:  # registered by someone else since prepare()
        raise RegistrationError("This plug-in is already installed.") from None
    return displays


async def register(
    db: AsyncDatabase,
    image: str,
    plugin_cache_dir: Path,
    client: DockerClient | None = None,
    run_configuration: dict[str, Any] | None = None,
    confirm: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any] | None:
    """The whole registration; `confirm` sees the document first (spec 1.3 step 10) and may
    decline, which returns None and changes nothing."""
    definition = await prepare(db, image, client, run_configuration)
    if confirm is not None and not confirm(definition):
        return None
    await install(db, definition, plugin_cache_dir, client)
    return definition
