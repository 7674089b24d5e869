"""Remote plug-ins (`CAD+remote`, spec 6) against a real HTTP server.

A small Starlette app on uvicorn (in a thread) stands in for a remote CAD server: `/run` checks
the bearer token, records the uploaded files and answers with an `X-Request-ID` and an event
stream; `/result/{id}` serves a tar of the output. Each test sets the server's behaviour through
`FakeCadServer.reset(...)`. Jobs go through `execute_job` with a real database and a runner that
fails the test if called: a remote job never starts a container.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import tarfile
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pymongo.asynchronous.database import AsyncDatabase
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from circus_api.db import plugin_jobs
from circus_api.settings import Settings
from job_manager import remote
from job_manager.errors import JobError
from job_manager.execution import execute_job
from job_manager.joblog import JobLog
from job_manager.remote import (
    RemoteCadFailed,
    default_http_adapter,
    definition_of,
    event_stream_lines,
    extract_result_archive,
    server_sent_events,
)
from job_manager.runner import RunOutcome
from tests.conftest import free_port
from tests.job_manager.conftest import job_document, plugin_document

PLUGIN_ID = "rmt-" + "a" * 64
TOKEN = "s3cret-token"
RESULTS = {"results": {"lesionCandidates": [{"confidence": 0.9, "volumeId": 0, "location": [1, 2, 3]}]}}

Chunk = str | float | Exception  # text to send, a pause in seconds, or a crash of the stream


def sse(event: str, data: Any = None) -> str:
    return f"event: {event}\n" + ("" if data is None else f"data: {json.dumps(data)}\n") + "\n"


def tar_of(*entries: tuple[str, bytes] | tarfile.TarInfo) -> bytes:
    """A tar of (name, content) files and of ready-made members (links, devices...)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                tar.addfile(info, io.BytesIO(entry[1]))
    return out.getvalue()


def member(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


GOOD_STREAM: list[Chunk] = [": connected\n\n", sse("log", "Loading volume 0"), sse("log", "Done"), sse("finished")]
GOOD_RESULT = tar_of(
    ("./results.json", json.dumps(RESULTS).encode()), ("report.txt", b"3 candidates\n"), ("images/a.png", b"\x89PNG")
)


@dataclass
class FakeCadServer:
    """The remote server's behaviour for the current test, and what it received."""

    url: str = ""
    scenario: dict[str, Any] = field(default_factory=dict)
    submissions: list[dict[str, Any]] = field(default_factory=list)
    fetches: list[tuple[str, str | None]] = field(default_factory=list)

    def reset(self, **scenario: Any) -> None:
        self.scenario = {
            "token": TOKEN, "submit_status": 200, "request_id": "req-1", "stream": GOOD_STREAM,
            "result_status": 200, "result": GOOD_RESULT, **scenario,
        }
        self.submissions.clear()
        self.fetches.clear()


def make_app(server: FakeCadServer) -> Starlette:
    async def run(request: Request) -> Response:
        scenario = server.scenario
        authorization = request.headers.get("authorization")
        async with request.form() as form:
            uploads = {upload.filename: await upload.read() for upload in form.getlist("files")}  # type: ignore[union-attr]
        server.submissions.append({"authorization": authorization, "files": uploads})
        expected = None if scenario["token"] is None else f"Bearer {scenario['token']}"
        if authorization != expected:
            return Response("bad token", status_code=401)
        if scenario["submit_status"] != 200:
            return Response("busy", status_code=scenario["submit_status"])

        async def stream() -> AsyncIterator[bytes]:
            for chunk in scenario["stream"]:
                if isinstance(chunk, float):
                    await asyncio.sleep(chunk)
                elif isinstance(chunk, Exception):
                    raise chunk
                else:
                    yield chunk.encode()

        headers = {} if scenario["request_id"] is None else {"X-Request-ID": scenario["request_id"]}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    async def result(request: Request) -> Response:
        server.fetches.append((request.path_params["request_id"], request.headers.get("authorization")))
        if server.scenario["result_status"] != 200:
            return Response("gone", status_code=server.scenario["result_status"])
        return Response(server.scenario["result"], media_type="application/x-tar")

    return Starlette(routes=[Route("/cad/run", run, methods=["POST"]), Route("/cad/result/{request_id}", result)])


@pytest.fixture(scope="module")
def cad_server() -> Iterator[FakeCadServer]:
    state = FakeCadServer()
    port = free_port()
    config = uvicorn.Config(make_app(state), host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the fake CAD server did not start"
        time.sleep(0.01)
    state.url = f"http://127.0.0.1:{port}/cad"
    yield state
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def cad(cad_server: FakeCadServer) -> FakeCadServer:
    cad_server.reset()
    return cad_server


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An endpoint that takes connections (the kernel's backlog) but never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


class NoDocker:
    """The runner of these tests: a remote job must never start a container."""

    async def run(
        self, job: Mapping[str, Any], plugin: Mapping[str, Any], in_dir: Path, out_dir: Path, log: JobLog
    ) -> RunOutcome:
        pytest.fail("the Docker runner was called for a remote plug-in")


def remote_configuration(endpoint: str, **parameters: Any) -> dict[str, Any]:
    return {"adapter": "default", "parameters": {"endpoint": endpoint, "authentication": TOKEN, **parameters}}


async def run_remote_job(
    db: AsyncDatabase, settings: Settings, series_uid: str, run_configuration: dict[str, Any] | None
) -> dict[str, Any]:
    """Register the remote plug-in, run one job through `execute_job`, return the job document."""
    plugin = {**plugin_document(PLUGIN_ID), "type": "CAD+remote", "runConfiguration": run_configuration}
    if run_configuration is None:
        del plugin["runConfiguration"]
    await db["pluginDefinitions"].insert_one(plugin)
    await db[plugin_jobs.COLLECTION].insert_one(job_document("job1", PLUGIN_ID, series_uid))
    status = await execute_job(db, settings, NoDocker(), {"jobId": "job1"})
    job = await plugin_jobs.find(db, "job1")
    assert job is not None and job["status"] == status
    assert os.listdir(settings.job_work_dir) == []  # the working folder goes whatever happens
    return job


def job_log_text(settings: Settings) -> str:
    return (settings.results_dir / "job1" / "plugin-log.txt").read_text()


# --- jobs through execute_job ---


async def test_a_remote_job_runs_and_its_results_are_collected(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str, cad: FakeCadServer
) -> None:
    job = await run_remote_job(db, jm_settings, series_uid, remote_configuration(cad.url))
    assert job["status"] == "finished", job["errorMessage"]
    assert job["results"] == RESULTS
    stored = jm_settings.results_dir / "job1"
    assert sorted(os.listdir(stored)) == ["images", "plugin-log.txt", "report.txt", "results.json"]
    assert (stored / "images" / "a.png").read_bytes() == b"\x89PNG"
    log_text = job_log_text(jm_settings)
    assert "] [Remote CAD] Loading volume 0\n" in log_text and "] [Remote CAD] Done\n" in log_text
    assert log_text.index("[Remote CAD] Done") < log_text.index("Plug-in execution done.")
    [submission] = cad.submissions
    assert submission["authorization"] == f"Bearer {TOKEN}"
    assert sorted(submission["files"]) == ["0.json", "0.mhd", "0.raw"]
    assert submission["files"]["0.mhd"].startswith(b"ObjectType = Image")
    assert cad.fetches == [("req-1", f"Bearer {TOKEN}")]


async def test_an_error_event_fails_the_job_with_its_message(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str, cad: FakeCadServer
) -> None:
    cad.reset(stream=[sse("log", "step 1"), sse("error", "Out of GPU memory"), sse("log", "cleaning up"),
                      sse("finished")])
    job = await run_remote_job(db, jm_settings, series_uid, remote_configuration(cad.url))
    assert (job["status"], job["errorMessage"]) == ("failed", "Remote CAD failed: Out of GPU memory")
    assert job["finishedAt"] is None
    log_text = job_log_text(jm_settings)
    assert "[Remote CAD] step 1" in log_text and "[Remote CAD] cleaning up" in log_text  # read on after the error
    assert "[ERROR] Remote CAD failed: Out of GPU memory" in log_text
    assert cad.fetches == []


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ({"submit_status": 503}, "Remote CAD failed: Failed to submit job"),
        ({"token": "another"}, "Remote CAD failed: Failed to submit job"),
        ({"request_id": None}, "Remote CAD failed: Internal error: No X-Request-ID header in response"),
        ({"result_status": 500}, "Remote CAD failed: Failed to fetch result data"),
        ({"result": tar_of(("report.txt", b"x"))}, "The plug-in exited without writing results.json."),
    ],
    ids=["submit-503", "wrong-token", "no-request-id", "result-500", "no-results-json"],
)
async def test_server_failures_fail_the_job(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str, cad: FakeCadServer, scenario: dict[str, Any],
    message: str,
) -> None:
    cad.reset(**scenario)
    job = await run_remote_job(db, jm_settings, series_uid, remote_configuration(cad.url))
    assert (job["status"], job["errorMessage"]) == ("failed", message)
    if scenario.get("submit_status"):
        assert "The server answered the submission with HTTP 503." in job_log_text(jm_settings)


@pytest.mark.parametrize(
    ("run_configuration", "message"),
    [
        (None, "No runConfiguration in the plugin"),
        ({"parameters": {}}, "No adapter in the plugin's runConfiguration"),
        ({"adapter": "HttpRemoteCadAdapter", "parameters": {"endpoint": "http://x"}},
         "No such adapter: HttpRemoteCadAdapter"),
        ({"adapter": "default", "parameters": {}},
         "The remote plug-in has no endpoint (runConfiguration.parameters.endpoint)."),
    ],
    ids=["no-run-configuration", "no-adapter", "unknown-adapter", "no-endpoint"],
)
async def test_a_misconfigured_remote_plugin_fails_before_the_voxel_dump(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str, cad: FakeCadServer,
    run_configuration: dict[str, Any] | None, message: str,
) -> None:
    job = await run_remote_job(db, jm_settings, series_uid, run_configuration)
    assert (job["status"], job["errorMessage"]) == ("failed", message)
    assert "Performing voxel dump" not in job_log_text(jm_settings)
    assert cad.submissions == []


async def test_an_unsafe_result_archive_is_refused_and_nothing_escapes(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str, cad: FakeCadServer, tmp_path: Path
) -> None:
    cad.reset(result=tar_of(("results.json", b"{}"), ("../../evil", b"x"), ("../../../../../evil", b"x")))
    job = await run_remote_job(db, jm_settings, series_uid, remote_configuration(cad.url))
    assert (job["status"], job["errorMessage"]) == (
        "failed", "Plug-in output rejected: '../../evil' is not a plain relative path."
    )
    assert list(tmp_path.rglob("*evil*")) == []
    assert sorted(os.listdir(jm_settings.results_dir / "job1")) == ["plugin-log.txt"]


async def test_a_submission_without_answer_times_out_quickly(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str, silent_endpoint: str
) -> None:
    started = time.monotonic()
    job = await run_remote_job(db, jm_settings, series_uid, remote_configuration(silent_endpoint, timeout=0.3))
    assert time.monotonic() - started < 3
    assert (job["status"], job["errorMessage"]) == (
        "failed", "Remote CAD failed: Failed to submit job: no response within 0.3 s"
    )


# --- the adapter on its own ---


@pytest.fixture
def in_dir(tmp_path: Path) -> Path:
    """An input folder with two files, a sub-folder and a link: only the two files are sent."""
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "0.mhd").write_text("ObjectType = Image\n")
    (folder / "0.raw").write_bytes(b"\x00" * 300_000)
    (folder / "sub" / "deep.txt").write_text("not sent")
    (folder / "link.raw").symlink_to(folder / "0.raw")
    return folder


async def run_adapter(parameters: dict[str, Any], in_dir: Path) -> tuple[Path, list[str]]:
    lines: list[str] = []
    archive = in_dir.parent / "result.tar"
    await default_http_adapter(definition_of(parameters), in_dir, archive, lines.append)
    return archive, lines


@pytest.mark.parametrize(
    ("parameters", "authorization"),
    [({"authentication": TOKEN}, TOKEN), ({"authentification": TOKEN}, TOKEN),
     ({"authentication": "", "authentification": TOKEN}, TOKEN), ({}, None)],
    ids=["authentication", "misspelt-fallback", "empty-falls-back", "none"],
)
async def test_the_bearer_token_comes_from_either_spelling_or_is_left_out(
    cad: FakeCadServer, in_dir: Path, parameters: dict[str, Any], authorization: str | None
) -> None:
    cad.reset(token=authorization)
    archive, lines = await run_adapter({"endpoint": cad.url + "/", **parameters}, in_dir)
    expected = None if authorization is None else f"Bearer {authorization}"
    assert [s["authorization"] for s in cad.submissions] == [expected]  # never `Bearer None`
    assert cad.fetches == [("req-1", expected)]
    assert sorted(cad.submissions[0]["files"]) == ["0.mhd", "0.raw"]
    assert cad.submissions[0]["files"]["0.raw"] == b"\x00" * 300_000
    assert lines == ["Loading volume 0", "Done"]
    assert archive.read_bytes() == GOOD_RESULT


async def test_the_submit_timeout_does_not_bound_the_event_stream(cad: FakeCadServer, in_dir: Path) -> None:
    cad.reset(stream=[sse("log", "started"), 0.6, sse("log", "still here"), sse("finished")])
    _archive, lines = await run_adapter({"endpoint": cad.url, "authentication": TOKEN, "timeout": 0.2}, in_dir)
    assert lines == ["started", "still here"]


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        ([sse("log", "a"), RuntimeError("server crashed")], "Error reading server response: "),
        (["event: log\ndata: not json\n\n"], "Error reading server response: the data of an event is not JSON"),
        ([sse("internalServerError", {"message": "disk full"}), sse("finished")], "disk full"),
    ],
    ids=["stream-cut", "bad-json", "internal-server-error"],
)
async def test_stream_problems_are_failures(
    cad: FakeCadServer, in_dir: Path, stream: list[Chunk], message: str
) -> None:
    cad.reset(stream=stream)
    with pytest.raises(RemoteCadFailed) as failure:
        await run_adapter({"endpoint": cad.url, "authentication": TOKEN}, in_dir)
    assert failure.value.message.startswith(message)
    assert cad.fetches == []


async def test_an_unreachable_server_is_a_submission_failure(in_dir: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(RemoteCadFailed) as failure:
        await run_adapter({"endpoint": f"http://127.0.0.1:{port}"}, in_dir)
    assert failure.value.message.startswith("Failed to submit job: ")


def test_the_definition_defaults() -> None:
    definition = definition_of({"endpoint": " http://cad.example/api ", "maxConcurrency": 2, "env": []})
    assert (definition.endpoint, definition.authentication, definition.timeout_s) == (
        "http://cad.example/api", None, 300.0
    )
    assert definition_of({"endpoint": "http://x", "timeout": 0}).timeout_s is None  # 0: no limit
    assert definition_of({"endpoint": "http://x", "timeout": "soon"}).timeout_s == 300.0
    assert remote.remote_run_of(plugin_document("f" * 64)) is None  # a Docker plug-in
    with pytest.raises(JobError, match="Unknown plug-in type: 'CADx'"):
        remote.remote_run_of({**plugin_document("f" * 64), "type": "CADx"})


# --- the event stream parser ---


async def parsed(*chunks: bytes) -> list[tuple[str, Any]]:
    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    return [event async for event in server_sent_events(event_stream_lines(source()))]


async def test_event_stream_parsing_follows_circus() -> None:
    snowman = "☃".encode()
    events = await parsed(
        b": comment\r\n\r\nevent: log\r", b"\ndata: \"first\"\r\ndata: \"last wins\"\r\n\r\n",
        b"data: \"no type: dropped\"\n\n",
        b"event:log\ndata:\"" + snowman[:1], snowman[1:] + b"\"\rid: 7\r\r",
        b"event: finished",  # closed without the blank line
    )
    assert events == [("log", "last wins"), ("log", "☃"), ("finished", None)]


# --- the result archive ---


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (("../evil", b"x"), "Plug-in output rejected: '../evil' is not a plain relative path."),
        (("a/../../evil", b"x"), "Plug-in output rejected: 'a/../../evil' is not a plain relative path."),
        (("/tmp/evil-absolute", b"x"), "Plug-in output rejected: '/tmp/evil-absolute' is not a plain relative path."),
        (member("evil-link", tarfile.SYMTYPE, "/etc"), "Plug-in output rejected: evil-link is a link."),
        (member("evil-link", tarfile.SYMTYPE, "../.."), "Plug-in output rejected: evil-link is a link."),
        (member("evil-hard", tarfile.LNKTYPE, "results.json"), "Plug-in output rejected: evil-hard is a link."),
        (member("evil-dev", tarfile.CHRTYPE), "Plug-in output rejected: evil-dev is not a regular file or folder."),
        (member("evil-fifo", tarfile.FIFOTYPE), "Plug-in output rejected: evil-fifo is not a regular file or folder."),
    ],
    ids=["dotdot", "inner-dotdot", "absolute", "symlink-absolute", "symlink-up", "hardlink", "device", "fifo"],
)
def test_unsafe_archives_are_refused_before_anything_is_written(
    tmp_path: Path, entry: tuple[str, bytes] | tarfile.TarInfo, message: str
) -> None:
    archive = tmp_path / "result.tar"
    archive.write_bytes(tar_of(("results.json", b"{}"), entry, ("after.txt", b"x")))
    out_dir = tmp_path / "job" / "out"
    out_dir.mkdir(parents=True)
    with pytest.raises(JobError) as failure:
        extract_result_archive(archive, out_dir)
    assert failure.value.message == message
    assert os.listdir(out_dir) == []
    assert sorted(os.listdir(tmp_path / "job")) == ["out"] and sorted(os.listdir(tmp_path)) == ["job", "result.tar"]
    assert not Path("/tmp/evil-absolute").exists()


def test_archive_limits_and_garbage(tmp_path: Path) -> None:
    archive = tmp_path / "result.tar"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    archive.write_bytes(tar_of(("a.bin", b"x" * 600), ("b.bin", b"x" * 600)))
    with pytest.raises(JobError, match="more than 1000 bytes"):
        extract_result_archive(archive, out_dir, max_bytes=1000)
    assert os.listdir(out_dir) == []
    archive.write_bytes(b"<html>not a tar</html>")
    with pytest.raises(JobError, match=r"^Remote CAD failed: the result data is not a valid tar archive"):
        extract_result_archive(archive, out_dir)
    archive.write_bytes(GOOD_RESULT)
    assert extract_result_archive(archive, out_dir) == ["results.json", "report.txt", "images/a.png"]
    assert sorted(os.listdir(out_dir)) == ["images", "report.txt", "results.json"]
