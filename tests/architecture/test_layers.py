"""The import direction of the design (routes -> services -> db), checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.architecture.sources import ROOT, imported_modules, python_files, relative


def violations(folders: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in python_files(*folders):
        for module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                found.append(f"{relative(path)} imports {module}")
    return found


def test_routes_do_not_touch_the_database_directly() -> None:
    assert violations(("circus_api/routes",), ("circus_api.db", "pymongo", "bson")) == []


def test_services_and_db_know_nothing_of_http() -> None:
    assert violations(("circus_api/services", "circus_api/db"), ("starlette", "sse_starlette")) == []


def test_job_manager_does_not_depend_on_the_web_layer() -> None:
    forbidden = ("circus_api.routes", "circus_api.app", "starlette", "sse_starlette")
    assert violations(("job_manager",), forbidden) == []


def test_imaging_and_blob_store_are_free_of_the_api() -> None:
    assert violations(("circus_api/imaging",), ("circus_api.db", "circus_api.services", "circus_api.routes",
                                                 "pymongo", "starlette")) == []
    assert violations(("blob_store",), ("circus_api",)) == []


def test_route_modules_do_not_import_heavy_imaging_libraries() -> None:
    assert violations(("circus_api/routes",), ("pydicom", "SimpleITK", "numpy", "bcrypt")) == []


def test_the_web_ui_calls_services_never_the_database_or_imaging() -> None:
    forbidden = ("circus_api.db", "pymongo", "bson", "pydicom", "SimpleITK", "numpy", "bcrypt", "circus_api.imaging")
    assert violations(("circus_api/web",), forbidden) == []


def test_only_settings_reads_the_environment() -> None:
    readers = []
    for path in python_files("circus_api", "job_manager", "blob_store", "admin"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("environ", "getenv")
                and isinstance(node.value, ast.Name)
                and node.value.id == "os"
            ):
                readers.append(relative(path))
    allowed = {"circus_api/settings.py", "circus_api/launcher.py"}  # launcher passes it on to children
    assert set(readers) <= allowed, set(readers) - allowed


def test_the_guard_can_fail(tmp_path: Path) -> None:
    # negative control: a module importing pymongo is found
    bad = tmp_path / "bad.py"
    bad.write_text("import pymongo\nfrom circus_api.db import users\n")
    assert {"pymongo", "circus_api.db", "circus_api.db.users"} <= imported_modules(bad)
    assert ROOT.joinpath("circus_api/routes").is_dir()
