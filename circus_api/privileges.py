"""The privilege summary of a user (spec 2.2), recomputed from the database on every request.

Global privileges come from groups; project and plug-in roles are per-ID lists on groups.
Dangling IDs (deleted groups, projects, plug-ins) are skipped instead of failing every request
(spec 2.2 Re-impl).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import groups, plugin_definitions, projects
from circus_api.db.groups import PLUGIN_ROLE_FIELDS, PROJECT_ROLE_FIELDS
from circus_api.errors import Unauthorized

GLOBAL_PRIVILEGES = {
    "createProject": "Create Project",
    "deleteProject": "Delete Project",
    "manageServer": "Manage Server",
    "personalInfoView": "View Personal Info",
    "downloadVolume": "Download Volume as Raw File",
    "issueOnetime": "Issue Onetime URL",
}


@dataclass
class Privileges:
    domains: list[str] = field(default_factory=list)
    global_privileges: list[str] = field(default_factory=list)
    accessible_projects: list[dict[str, Any]] = field(default_factory=list)
    accessible_plugins: list[dict[str, Any]] = field(default_factory=list)
    group_names: list[str] = field(default_factory=list)

    def has_global(self, privilege: str) -> bool:
        return privilege in self.global_privileges

    def project_roles(self, project_id: str) -> set[str]:
        for entry in self.accessible_projects:
            if entry["projectId"] == project_id:
                return set(entry["roles"])
        return set()

    def plugin_roles(self, plugin_id: str) -> set[str]:
        for entry in self.accessible_plugins:
            if entry["pluginId"] == plugin_id:
                return set(entry["roles"])
        return set()

    def projects_with(self, *roles: str) -> list[str]:
        return [e["projectId"] for e in self.accessible_projects if set(roles) <= set(e["roles"])]

    def plugins_with(self, *roles: str) -> list[str]:
        return [e["pluginId"] for e in self.accessible_plugins if set(roles) <= set(e["roles"])]

    def summary(self) -> dict[str, Any]:
        return {
            "domains": self.domains,
            "globalPrivileges": self.global_privileges,
            "accessibleProjects": self.accessible_projects,
            "accessiblePlugins": self.accessible_plugins,
        }

    # route-level checks (spec 2.3), in the order the router applies them

    def require_global(self, *required: str) -> None:
        missing = [p for p in required if p not in self.global_privileges]
        if missing:
            raise Unauthorized(
                "You do not have sufficient privilege to access this resource. " + ", ".join(missing)
            )

    def require_project_roles(self, project_id: str, *roles: str) -> None:
        if not set(roles) <= self.project_roles(project_id):
            raise Unauthorized(f'You do not have "{", ".join(roles)}" privilege of this project.')

    def require_plugin_roles(self, plugin_id: str, *roles: str) -> None:
        if not set(roles) <= self.plugin_roles(plugin_id):
            raise Unauthorized(f'You do not have "{", ".join(roles)}" privilege of this plugin.')

    def require_domains(self, domains: set[str], message: str) -> None:
        if not domains <= set(self.domains):
            raise Unauthorized(message)


def _union(target: list[str], values: list[Any]) -> None:
    for value in values or []:
        if value not in target:
            target.append(value)


async def compute_privileges(db: AsyncDatabase, user: dict[str, Any]) -> Privileges:
    member_of = await groups.find_many(db, list(user.get("groups") or []))
    by_id = {g["groupId"]: g for g in member_of}
    ordered = [by_id[g] for g in user.get("groups") or [] if g in by_id]
    result = Privileges(group_names=[g.get("groupName", "") for g in ordered])
    project_roles: dict[str, list[str]] = {}
    plugin_roles: dict[str, list[str]] = {}
    for group in ordered:
        _union(result.domains, group.get("domains", []))
        _union(result.global_privileges, group.get("privileges", []))
        for field_name, role in PROJECT_ROLE_FIELDS.items():
            for project_id in group.get(field_name) or []:
                _union(project_roles.setdefault(project_id, []), [role])
        for role in PLUGIN_ROLE_FIELDS:
            for plugin_id in group.get(role) or []:
                _union(plugin_roles.setdefault(plugin_id, []), [role])
    if project_roles:
        found = {p["projectId"]: p for p in await projects.find_many(db, list(project_roles))}
        result.accessible_projects = [
            {"projectId": pid, "roles": roles, "project": found[pid]}
            for pid, roles in project_roles.items()
            if pid in found
        ]
    if plugin_roles:
        found = {p["pluginId"]: p for p in await plugin_definitions.find_many(db, list(plugin_roles))}
        result.accessible_plugins = [
            {"pluginId": pid, "roles": roles, "plugin": found[pid]}
            for pid, roles in plugin_roles.items()
            if pid in found
        ]
    return result


def shows_personal_info(user: dict[str, Any], privileges: Privileges) -> bool:
    """Layer 2 of spec 2.4: the global privilege and the user's own preference, both."""
    wants = bool((user.get("preferences") or {}).get("personalInfoView"))
    return wants and privileges.has_global("personalInfoView")
