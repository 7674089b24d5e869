"""`circus db-check` (spec 8): every stored document against its collection's schema (spec 6).

The documents this project writes must pass (spec 6 general rules), so one test fills a database
through the project's own services and checks it; CIRCUS's fixtures are checked as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from click.testing import Result
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from admin import accounts
from admin.db_check import CheckedCollection, check_collections, selected_models
from blob_store.directory import DirectoryBlobStore
from circus_api import auth
from circus_api.db import plugin_definitions, plugin_jobs
from circus_api.db import tasks as tasks_db
from circus_api.db.document_schemas import MODELS
from circus_api.privileges import compute_privileges
from circus_api.services import (
    cases,
    feedback,
    groups,
    my_lists,
    onetime_urls,
    plugins,
    projects,
    series_import,
    server_params,
    tasks,
    users,
)
from circus_api.services import plugin_jobs as job_service
from circus_api.settings import Settings
from job_manager.plugins import build_definition
from tests.admin.conftest import CircusCli
from tests.circus_api.imaging.fixture_files import HEAD_FIRST_UID, fixture_files
from tests.circus_fixtures import load_fixtures

REMOTE_FIXTURE = "rmt-d135e1fbb368e35f940ae8e6deb171e90273958dc3938de5a8237b73bb42d9c2"
FIXTURE_COUNTS = {
    "user": 7, "group": 5, "project": 1, "series": 9, "clinicalCase": 4, "serverParam": 3, "token": 8, "task": 5,
}
ALL_BUT_PLUGIN = [name for name in MODELS if name != "plugin"]


@pytest.fixture
def run_cli(circus_cli: CircusCli, sync_db: Database) -> Callable[..., Result]:
    load_fixtures(sync_db)
    return lambda *args: circus_cli("db-check", *args)


def ok_lines(counts: dict[str, int]) -> list[str]:
    return [f"{name} ({MODELS[name].collection}): {n} documents OK" for name, n in counts.items()]


# ---- CIRCUS's fixtures -----------------------------------------------------------------------


def test_the_fixtures_fail_only_at_the_remote_plugin_without_adapter_and_parameters(run_cli: Any) -> None:
    # spec 6.6: a `CAD+remote` runConfiguration is {adapter, parameters}; the fixture's is {}
    result = run_cli()
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        *ok_lines(FIXTURE_COUNTS),
        f"plugin (pluginDefinitions): invalid document pluginId={REMOTE_FIXTURE}",
        "  .runConfiguration: 'adapter' is a required property",
        "  .runConfiguration: 'parameters' is a required property",
    ]


def test_every_other_fixture_collection_passes(run_cli: Any) -> None:
    result = run_cli(*(arg for name in ALL_BUT_PLUGIN for arg in ("-t", name)))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ok_lines(
        {**FIXTURE_COUNTS, "pluginJob": 5, "myList": 8, "onetimeUrl": 1}
    )


def test_the_fixture_plugins_pass_once_the_remote_one_is_complete(run_cli: Any, sync_db: Database) -> None:
    sync_db.pluginDefinitions.update_one(
        {"pluginId": REMOTE_FIXTURE},
        {"$set": {"runConfiguration": {"adapter": "circus", "parameters": {"endpoint": "http://cad.example"}}}},
    )
    result = run_cli("--target", "plugin")
    assert (result.exit_code, result.output) == (0, "plugin (pluginDefinitions): 4 documents OK\n")


# ---- what this project writes ------------------------------------------------------------------


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_documents_written_by_the_services_pass(
    db: AsyncDatabase, settings: Settings, redis_client: aioredis.Redis
) -> None:
    # first start: a project, an admin group, the domain server params and the admin
    created = await accounts.bootstrap_first_admin(db, "admin@example.com", "adminSecret")
    assert created is not None
    admin_email = created[0]
    project_id = (await db.projects.find_one())["projectId"]
    cad_id = "a" * 64
    await plugins.create(db, {
        "pluginId": cad_id, "type": "CAD", "pluginName": "CAD", "version": "1.0.0", "description": "",
        "icon": {"glyph": "lung", "color": "#ffffff", "backgroundColor": "#008800"},
        "displayStrategy": [{"type": "lesionCandidates", "feedbackKey": "lesions", "caption": "Lesions",
                             "options": {}}],
        "runConfiguration": {"timeout": 60, "gpus": ""},
    })
    await plugins.create(db, {
        "type": "CAD+remote", "pluginName": "Remote", "version": "1.0.0", "description": "remote",
        "icon": {"glyph": "calc", "color": "#ffffff", "backgroundColor": "#008800"}, "displayStrategy": [],
        "runConfiguration": {"adapter": "circus", "parameters": {"endpoint": "http://cad.example", "timeout": 300}},
    })
    await plugin_definitions.insert(db, build_definition("b" * 64, {  # register-cad-plugin
        "type": "CAD", "pluginName": "Sample", "version": "0.1.0", "description": "sample"
    }))
    group_id = await accounts.add_group(db, "readers", ["downloadVolume"], ["default"])
    await groups.update(db, "1", {"readPlugin": [cad_id], "executePlugin": [cad_id], "manageJobs": [cad_id]})
    await projects.update(db, project_id, {"tags": [{"caption": "a", "color": "#ff0000"}],
                                           "windowPresets": [{"label": "lung", "level": -600, "width": 1500}]})
    await plugins.update(db, cad_id, {"description": "changed", "runConfiguration": {"timeout": 0}})
    await accounts.add_user(db, "bob@example.com", "bob", "bobSecret", [group_id], "Bob")
    await users.update_preferences(db, await users_find(db, "bob@example.com"), {
        "theme": "mode_black", "labelColors": {"useDefault": False, "customColors": ["#ff0000"]},
    })
    await users.update(db, "bob@example.com", {"description": "Bob again", "loginEnabled": False})
    await server_params.put(db, {"foo": {"bar": 1}})
    await server_params.web_secret(db)

    # tokens: a session (which records the login), a permanent token; a one-time URL
    admin = await users_find(db, admin_email)
    await auth.issue_session_token(db, admin, "127.0.0.1")
    await accounts.add_permanent_token(db, admin_email, "for scripts")
    await onetime_urls.issue(db, admin_email)

    # a series, a case with two revisions, a job with results and feedback
    summary = await series_import.import_sources(
        db, settings, series_import.ImportOptions("default", admin_email),
        [series_import.ImportSource(path.name, path) for path in fixture_files("head-first")],
    )
    assert summary.series_uids == [HEAD_FIRST_UID]
    await series_import.refresh_parameters(db, settings, None)
    privileges = await compute_privileges(db, admin)
    pvd = {"start": 1, "end": 10, "delta": 1}
    case_id = await cases.create(db, settings, admin_email, privileges, {
        "projectId": project_id, "series": [{"seriesUid": HEAD_FIRST_UID, "partialVolumeDescriptor": pvd}],
        "tags": ["a"],
    })
    await cases.add_revision(db, DirectoryBlobStore(settings.blob_dir), case_id, admin_email, {
        "description": "labels", "attributes": {"grade": 2}, "status": "approved",
        "series": [{"seriesUid": HEAD_FIRST_UID, "partialVolumeDescriptor": pvd, "labels": [
            {"type": "voxel", "data": {"voxels": None, "color": "#ff0000", "alpha": 1}, "name": None},
            {"type": "cuboid", "data": {"min": [0, 0, 0], "max": [1, 1, 1]}, "name": "box", "attributes": {}},
        ]}],
    })
    await cases.set_tags(db, case_id, ["b"])
    job_id = await job_service.register(db, settings, admin_email, privileges, {
        "pluginId": cad_id, "series": [{"seriesUid": HEAD_FIRST_UID, "partialVolumeDescriptor": pvd}],
    })
    await plugin_jobs.mark_processing(db, job_id, dt.datetime(2024, 1, 1))
    await plugin_jobs.mark_finished(db, job_id, {"results": {"lesionCandidates": []}}, dt.datetime(2024, 1, 1))
    await feedback.add_entry(db, job_id, admin_email, False, {
        "data": {"lesions": []}, "actionLog": [{"date": dt.datetime(2024, 1, 1), "action": "open"}],
    })
    await job_service.change_status(db, settings, privileges, {"jobId": job_id, "pluginId": cad_id}, "invalidated")

    # a my list shared with a group, holding the case; a task that ended
    my_list_id = await my_lists.create(db, admin_email, "Cases", "clinicalCases", False)
    await my_lists.update(db, admin_email, my_list_id, {"editors": [{"type": "group", "groupId": group_id}]})
    await my_lists.change_items(db, admin_email, [1], my_list_id, "add", [case_id])
    task_id = await tasks.register(db, redis_client, admin_email, "Export case", lambda _: None, "application/zip")
    await tasks_db.end(db, task_id, "finished", "Export finished.")

    checked: list[CheckedCollection] = []
    report = await check_collections(db, on_checked=checked.append)
    assert report.invalid is None
    assert checked == report.checked
    assert {c.model: c.documents for c in report.checked} == {
        "user": 2, "group": 2, "project": 1, "series": 1, "clinicalCase": 1, "serverParam": 4, "token": 2,
        "task": 1, "plugin": 3, "pluginJob": 1, "myList": 1, "onetimeUrl": 1,
    }


async def users_find(db: AsyncDatabase, email: str) -> dict[str, Any]:
    user = await db.users.find_one({"userEmail": email}, {"_id": 0})
    assert user is not None
    return dict(user)


# ---- invalid documents ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("collection", "key", "change", "model", "expected"),
    [
        ("users", {"userEmail": "bob@example.com"}, {"$unset": {"loginId": ""}}, "user",
         ["(document): 'loginId' is a required property"]),
        ("groups", {"groupId": 3}, {"$set": {"note": "x"}}, "group",
         ["(document): Additional properties are not allowed ('note' was unexpected)"]),
        ("tasks", {"taskId": "aaaabbbbcccc2222"}, {"$set": {"dismissed": "no", "endedAt": "2020-01-01"}}, "task",
         [".dismissed: 'no' is not of type 'boolean'", ".endedAt: '2020-01-01' is not of type 'date', 'null'"]),
        ("clinicalCases", {"caseId": "faeb503e97f918c882453fd2d789f50f4250267740a0b3fbcc85a529f2d7715b"},
         {"$set": {"revisions.0.series.0.labels": [{"type": "point", "data": {}}]}}, "clinicalCase",
         [".revisions[0].series[0].labels[0].data: 'location' is a required property"]),
        ("pluginJobs", {"jobId": "01dxgwv3k0medrvhdag4mpw9wa"}, {"$set": {"feedbacks.1.createdAt": 0}}, "pluginJob",
         [".feedbacks[1].createdAt: 0 is not of type 'date'"]),
    ],
)
async def test_an_invalid_document_stops_the_check_with_its_key_and_errors(
    sync_db: Database, db: AsyncDatabase, collection: str, key: dict[str, Any], change: dict[str, Any], model: str,
    expected: list[str],
) -> None:
    load_fixtures(sync_db)
    sync_db[collection].update_one(key, change)
    report = await check_collections(db, ALL_BUT_PLUGIN)
    assert report.invalid is not None
    assert (report.invalid.model, report.invalid.collection) == (model, collection)
    assert ({report.invalid.key_field: report.invalid.key}, report.invalid.errors) == (key, expected)
    assert [c.model for c in report.checked] == ALL_BUT_PLUGIN[:ALL_BUT_PLUGIN.index(model)]


def test_the_command_prints_the_invalid_document_and_checks_nothing_after_it(
    run_cli: Any, sync_db: Database
) -> None:
    sync_db.projects.update_one({}, {"$set": {"windowPriority": "never"}})
    result = run_cli()
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        *ok_lines({"user": 7, "group": 5}),
        "project (projects): invalid document projectId=8883fdef6f5144f50eb2a83cd34baa44",
        "  .windowPriority: 'never' is not one of "
        "['dicom,preset,auto', 'dicom,auto', 'preset,dicom,auto', 'preset,auto', 'auto']",
    ]


def test_a_document_without_its_key_is_named_by_its_id(run_cli: Any, sync_db: Database) -> None:
    inserted = sync_db.onetimeUrls.insert_one({"userEmail": "bob@example.com"}).inserted_id
    result = run_cli("-t", "onetimeUrl")
    assert result.exit_code == 1
    assert f"onetimeUrl (onetimeUrls): invalid document _id={inserted}" in result.output


# ---- targets ---------------------------------------------------------------------------------------


def test_targets_limit_the_check_and_keep_the_spec_order(run_cli: Any) -> None:
    result = run_cli("-t", "task", "--target", "user", "-t", "task")
    assert (result.exit_code, result.output.splitlines()) == (0, ok_lines({"user": 7, "task": 5}))


def test_an_unknown_target_is_a_usage_error_naming_the_models(run_cli: Any) -> None:
    result = run_cli("-t", "users")
    assert result.exit_code == 2
    assert "'users' is not one of 'user', 'group', 'project', 'series', 'clinicalCase'" in result.output
    with pytest.raises(ValueError, match="unknown model 'users'"):
        selected_models(["users"])
