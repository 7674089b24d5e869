"""Plug-in definitions (spec 4.9 #37, #38 and 4.14 #70-#72, plugins-and-jobs 1.5).

Readers see the plug-ins they hold `readPlugin` on, straight from the privilege summary (which
already loaded those definitions). Administrators list, change and add definitions; every stored
definition is complete for its type (Re-impl: CIRCUS found a missing field only at insert, 500).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import plugin_definitions
from circus_api.db.documents import DuplicateKey
from circus_api.errors import BadRequest, NotFound, Unauthorized
from circus_api.privileges import Privileges
from circus_api.schemas.plugins import CAD, REMOTE, definition_schema
from circus_api.search import SearchRequest, run_search
from circus_api.validation import Schema
from job_manager.errors import JobError
from job_manager.runner import parse_memory

NOT_FOUND = "This plug-in does not exist."
ALREADY_INSTALLED = "This plug-in is already installed."
REMOTE_NOT_UNIQUE = "The combination of adaptor, pluginName, and version must be unique."

_SCHEMAS = {(t, complete): Schema(definition_schema(t, complete=complete)) for t in (CAD, REMOTE)
            for complete in (True, False)}


# ---- readers (#37, #38) ---------------------------------------------------------------------


def readable(privileges: Privileges) -> list[dict[str, Any]]:
    """`GET /plugins`: the definitions of every plug-in the caller may read."""
    return [entry["plugin"] for entry in privileges.accessible_plugins if "readPlugin" in entry["roles"]]


def get_readable(privileges: Privileges, plugin_id: str) -> dict[str, Any]:
    """`GET /plugins/:pluginId`: 401 before 404, so unknown IDs are not revealed to anyone
    (an unknown plug-in has no roles, hence the 401)."""
    for plugin in readable(privileges):
        if plugin["pluginId"] == plugin_id:
            return plugin
    raise Unauthorized("You do not have permission to get this plugin.")


# ---- administration (#70-#72) -----------------------------------------------------------------


async def search(db: AsyncDatabase, request: SearchRequest) -> dict[str, Any]:
    return await run_search(db[plugin_definitions.COLLECTION], request)


def remote_plugin_id(adapter: str, plugin_name: str, version: str) -> str:
    """`rmt-` + SHA-256 hex of `<adapter>:<pluginName>:<version>` (spec 0.6)."""
    return "rmt-" + hashlib.sha256(f"{adapter}:{plugin_name}:{version}".encode()).hexdigest()


def _check_fields(plugin_type: str, fields: Mapping[str, Any], *, complete: bool) -> None:
    """The fields against the schema of their type (400 with validationErrors), then the
    memory limit as the job manager will read it."""
    _SCHEMAS[(plugin_type, complete)].validate(dict(fields))
    run_configuration = fields.get("runConfiguration") or {}
    if plugin_type == CAD and "memory" in run_configuration:
        try:
            parse_memory(run_configuration["memory"])
        except JobError:
            raise BadRequest("runConfiguration.memory must be a size such as 512m or 4g.") from None


async def create(db: AsyncDatabase, body: Mapping[str, Any]) -> str:
    """`POST /admin/plugins`; returns the plug-in ID (computed for a remote plug-in)."""
    plugin_type = body.get("type")
    if plugin_type is None:
        raise BadRequest("type is required.")
    definition = dict(body)
    if plugin_type == REMOTE:
        definition.pop("pluginId", None)  # any given ID is overwritten
        _check_fields(REMOTE, definition, complete=True)
        definition["pluginId"] = remote_plugin_id(
            definition["runConfiguration"]["adapter"], definition["pluginName"], definition["version"]
        )
        taken = REMOTE_NOT_UNIQUE
    else:
        _check_fields(CAD, definition, complete=True)
        taken = ALREADY_INSTALLED
    if await plugin_definitions.find(db, definition["pluginId"]) is not None:
        raise BadRequest(taken)
    try:
        await plugin_definitions.insert(db, definition)
    except DuplicateKey:  # added by someone else since the look-up
        raise BadRequest(taken) from None
    return str(definition["pluginId"])


async def update(db: AsyncDatabase, plugin_id: str, body: Mapping[str, Any]) -> None:
    """`PATCH /admin/plugins/:pluginId`: a shallow change of top-level fields.

    The body is checked against the shape of the resulting type; a change of type must leave a
    complete definition of the new type (Re-impl: CIRCUS restored the old document and failed).
    """
    if "pluginId" in body:
        raise BadRequest("The primary key cannot be modified.")
    stored = await plugin_definitions.find(db, plugin_id)
    if stored is None:
        raise NotFound(NOT_FOUND)
    plugin_type = body.get("type", stored.get("type"))
    _check_fields(plugin_type if plugin_type in (CAD, REMOTE) else CAD, body, complete=False)
    if plugin_type != stored.get("type"):
        merged = {k: v for k, v in {**stored, **body}.items() if k not in ("createdAt", "updatedAt")}
        if plugin_type == REMOTE:
            merged.pop("pluginId")
        _check_fields(plugin_type, merged, complete=True)
    if not await plugin_definitions.update(db, plugin_id, dict(body)):
        raise NotFound(NOT_FOUND)
