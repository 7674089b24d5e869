"""Running a plug-in: the `Runner` protocol and `DockerRunner`, a sandboxed container per job.

The sandbox (checked from inside a container by tests/job_manager/test_runner.py):
- no network (`network_mode="none"`), read-only root file system, a small tmpfs on `/tmp`;
- a non-root user: the image's `USER` when it is a numeric non-zero uid, else `10001:10001`;
  `out/` is chowned to it (or made world-writable when the manager is not root);
- all capabilities dropped, `no-new-privileges`, a pid limit, memory without swap, CPU quota;
- `/circus/in` read-only, `/circus/out` writable, nothing else from the host;
- GPUs only through a device request when the plug-in's `runConfiguration.gpus` is set
  (`all`, a count such as `2`, or device ids such as `0,1` / `device=0,1`).

Limits come from the plug-in's `runConfiguration`: `timeout` (seconds, 0 = none, default 900),
`memory` (bytes or Docker's `512m` / `4g`, default 4g), `cpus` (default 2, at most the host's).
The last two are extensions: CIRCUS's schema has only `timeout` and `gpus`.

All Docker SDK calls run in a worker thread; cancelling `run()` kills the container and waits
until it is removed, so no container outlives its job in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.models.containers import Container
from docker.types import DeviceRequest

from job_manager.errors import EngineUnavailable, JobError
from job_manager.joblog import JobLog

log = logging.getLogger(__name__)

T = TypeVar("T")

IN_MOUNT = "/circus/in"
OUT_MOUNT = "/circus/out"
DEFAULT_USER = (10001, 10001)
DEFAULT_TIMEOUT_S = 900
DEFAULT_MEMORY = "4g"
DEFAULT_CPUS = 2.0
PIDS_LIMIT = 256
TMPFS_OPTIONS = "rw,nosuid,nodev,size=128m,mode=1777"
LABEL_JOB = "circus.job"
LABEL_MANAGER = "circus.manager"
LABEL_HOST = "circus.host"
LABEL_DATABASE = "circus.database"  # several installations may share one engine
WAIT_SLICE_S = 1.0  # how often a waiting run looks at its stop flag
GPU_MESSAGE = "This plug-in needs a GPU, but the Docker engine has no GPU runtime."

DockerClientFactory = Callable[[], docker.DockerClient]


def default_client_factory() -> docker.DockerClient:
    """The engine of DOCKER_HOST (or the local socket); the SDK negotiates the API version."""
    return docker.from_env(timeout=60)


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int | None
    duration_s: float


class Runner(Protocol):
    """Runs one job's plug-in with `in_dir` as input; output goes to `out_dir`, messages to `log`.

    Raises `JobError` (the job fails with its message) or `EngineUnavailable` (back to the queue).
    Remote (`CAD+remote`) plug-ins run through an adapter instead (`job_manager.remote`).
    """

    async def run(
        self, job: Mapping[str, Any], plugin: Mapping[str, Any], in_dir: Path, out_dir: Path, log: JobLog
    ) -> RunOutcome: ...


class RunAborted(Exception):
    """The run was stopped from outside (lease lost, shutdown); not a job failure."""


# --- limits ---

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_memory(value: object) -> int:
    """Bytes from an int or a Docker-style size (`512m`, `4g`, `4GiB`)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _MEMORY.match(str(value))
    if not match or float(match.group(1)) <= 0:
        raise JobError(f"The plug-in's memory limit {value!r} is not a size such as 512m or 4g.")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def memory_text(size: int) -> str:
    for unit, factor in (("g", 1024**3), ("m", 1024**2), ("k", 1024)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size} bytes"


@dataclass(frozen=True)
class Limits:
    timeout_s: float  # 0: none
    memory_bytes: int
    nano_cpus: int
    gpus: str


def limits_of(plugin: Mapping[str, Any]) -> Limits:
    config = plugin.get("runConfiguration") or {}
    timeout = config.get("timeout", DEFAULT_TIMEOUT_S)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout < 0:
        timeout = DEFAULT_TIMEOUT_S
    cpus = config.get("cpus", DEFAULT_CPUS)
    if not isinstance(cpus, int | float) or isinstance(cpus, bool) or cpus <= 0:
        cpus = DEFAULT_CPUS
    cpus = min(float(cpus), float(os.cpu_count() or 1))  # the engine refuses more than the host has
    return Limits(
        timeout_s=float(timeout),
        memory_bytes=parse_memory(config.get("memory") or DEFAULT_MEMORY),
        nano_cpus=int(cpus * 1e9),
        gpus=str(config.get("gpus") or "").strip(),
    )


def gpu_device_requests(gpus: str) -> list[DeviceRequest]:
    """`docker run --gpus` semantics: `all`, a count, or device ids."""
    value = gpus.strip()
    if not value:
        return []
    if value.lower() == "all":
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    if value.isdigit():
        return [DeviceRequest(count=int(value), capabilities=[["gpu"]])]
    ids = value.split("=", 1)[1] if value.startswith("device=") else value
    return [DeviceRequest(device_ids=[part.strip() for part in ids.strip("\"'").split(",") if part.strip()],
                          capabilities=[["gpu"]])]


def container_user(image_user: object) -> tuple[int, int]:
    """The image's numeric non-root `USER` (uid or uid:gid), else 10001:10001."""
    text = str(image_user or "").strip()
    match = re.fullmatch(r"(\d+)(?::(\d+))?", text)
    if match and int(match.group(1)) != 0:
        uid = int(match.group(1))
        gid = int(match.group(2)) if match.group(2) and int(match.group(2)) != 0 else uid
        return uid, gid
    return DEFAULT_USER


def make_writable_for(out_dir: Path, uid: int, gid: int) -> None:
    if os.geteuid() == 0:
        os.chown(out_dir, uid, gid)
        os.chmod(out_dir, 0o755)
    else:  # the folder above is 0700, so only the bind mount reaches this one
        os.chmod(out_dir, 0o777)


def engine_has_gpu_runtime(client: docker.DockerClient) -> bool:
    return "nvidia" in (client.info().get("Runtimes") or {})


# --- threads ---


async def run_in_thread(function: Callable[[], T], stop: threading.Event) -> T:
    """Run a blocking function in its own thread; on cancellation set `stop` and wait for the
    function to return (it kills and removes its container), then re-raise the cancellation."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def deliver(setter: Callable[[Any], None], value: Any) -> None:
        if not future.done():
            setter(value)

    def target() -> None:
        try:
            result = function()
        except BaseException as exc:
            outcome: tuple[Callable[[Any], None], Any] = (future.set_exception, exc)
        else:
            outcome = (future.set_result, result)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(deliver, *outcome)

    threading.Thread(target=target, name="docker-run", daemon=True).start()
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait([future])
        if not future.cancelled() and future.exception() is not None and not isinstance(
            future.exception(), RunAborted
        ):
            log.warning("run ended with an error while being stopped", exc_info=future.exception())
        raise


def _pump_output(stream: Iterator[tuple[bytes | None, bytes | None]], job_log: JobLog) -> None:
    try:
        for out, err in stream:
            if out:
                job_log.output("stdout", out)
            if err:
                job_log.output("stderr", err)
    except Exception:  # the engine went away or the container was removed: the stream just ends
        log.debug("output stream ended", exc_info=True)
    finally:
        job_log.end_output()


class DockerRunner:
    """Runs CAD plug-ins (`pluginId` = the image id) in sandboxed containers."""

    def __init__(
        self, manager_id: str, client_factory: DockerClientFactory = default_client_factory, database: str = ""
    ) -> None:
        self.manager_id = manager_id
        self.client_factory = client_factory
        self.labels = {LABEL_MANAGER: manager_id, LABEL_HOST: socket.gethostname(), LABEL_DATABASE: database}

    async def run(
        self, job: Mapping[str, Any], plugin: Mapping[str, Any], in_dir: Path, out_dir: Path, log: JobLog
    ) -> RunOutcome:
        stop = threading.Event()
        job_id = str(job["jobId"])
        return await run_in_thread(lambda: self._run_blocking(job_id, plugin, in_dir, out_dir, log, stop), stop)

    def _run_blocking(
        self, job_id: str, plugin: Mapping[str, Any], in_dir: Path, out_dir: Path, job_log: JobLog,
        stop: threading.Event,
    ) -> RunOutcome:
        limits = limits_of(plugin)
        try:
            client = self.client_factory()
        except DockerException as exc:
            raise EngineUnavailable(str(exc)) from exc
        try:
            return self._run_with_client(client, job_id, plugin, limits, in_dir, out_dir, job_log, stop)
        except requests.exceptions.ConnectionError as exc:
            raise EngineUnavailable(f"The Docker engine stopped answering: {exc}") from exc
        finally:
            client.close()

    def _run_with_client(
        self, client: docker.DockerClient, job_id: str, plugin: Mapping[str, Any], limits: Limits,
        in_dir: Path, out_dir: Path, job_log: JobLog, stop: threading.Event,
    ) -> RunOutcome:
        image_ref = str(plugin.get("pluginId", ""))
        try:
            image = client.images.get(image_ref)
        except ImageNotFound:
            raise JobError(
                f"The plug-in's Docker image {image_ref[:12]} is not installed on this Docker engine."
            ) from None
        except APIError as exc:
            raise JobError(f"Docker error: {exc.explanation or exc}") from exc
        uid, gid = container_user((image.attrs.get("Config") or {}).get("User"))
        make_writable_for(out_dir, uid, gid)
        if stop.is_set():
            raise RunAborted()
        try:
            container = client.containers.create(
                image.id,
                user=f"{uid}:{gid}",
                network_mode="none",
                read_only=True,
                tmpfs={"/tmp": TMPFS_OPTIONS},
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                pids_limit=PIDS_LIMIT,
                mem_limit=limits.memory_bytes,
                memswap_limit=limits.memory_bytes,  # the same value: no swap
                nano_cpus=limits.nano_cpus,
                device_requests=gpu_device_requests(limits.gpus) or None,
                volumes={
                    str(in_dir.resolve()): {"bind": IN_MOUNT, "mode": "ro"},
                    str(out_dir.resolve()): {"bind": OUT_MOUNT, "mode": "rw"},
                },
                labels={LABEL_JOB: job_id, **self.labels},
                stdin_open=False,
                tty=False,
            )
        except APIError as exc:
            raise self._api_error(exc) from exc
        try:
            return self._start_and_wait(container, limits, job_log, stop)
        finally:
            self._remove(container, job_log)

    def _start_and_wait(
        self, container: Container, limits: Limits, job_log: JobLog, stop: threading.Event
    ) -> RunOutcome:
        # attach before start, so not a byte of output is missed
        stream = container.attach(stdout=True, stderr=True, stream=True, demux=True, logs=True)
        reader = threading.Thread(target=_pump_output, args=(stream, job_log), name="docker-log", daemon=True)
        reader.start()
        started = time.monotonic()
        try:
            container.start()
        except APIError as exc:
            raise self._api_error(exc) from exc
        job_log.detail(f"Container {container.short_id} started (timeout: "
                       f"{'none' if not limits.timeout_s else f'{limits.timeout_s:g} s'}, "
                       f"memory: {memory_text(limits.memory_bytes)}, cpus: {limits.nano_cpus / 1e9:g}).")
        exit_code = self._wait(container, limits, stop, started)
        reader.join(timeout=10)
        container.reload()
        state = container.attrs.get("State") or {}
        duration = time.monotonic() - started
        job_log.detail(f"Container exited with code {exit_code} after {duration:.1f} s.")
        if state.get("OOMKilled"):
            raise JobError(f"The plug-in ran out of memory (limit {memory_text(limits.memory_bytes)}).")
        return RunOutcome(exit_code, duration)

    def _wait(self, container: Container, limits: Limits, stop: threading.Event, started: float) -> int | None:
        deadline = started + limits.timeout_s if limits.timeout_s else None
        while True:
            if stop.is_set():
                self._kill(container)
                raise RunAborted()
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                self._kill(container)
                raise JobError(f"The container did not finish within the timeout of {int(limits.timeout_s * 1000)} ms.")
            slice_s = WAIT_SLICE_S if deadline is None else max(0.05, min(WAIT_SLICE_S, deadline - now))
            try:
                result = container.wait(timeout=slice_s)
                return result.get("StatusCode")
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                # a timed-out wait, or the engine went away: reload tells which
                try:
                    container.reload()
                except NotFound:
                    raise JobError("Container disappeared.") from None

    def _kill(self, container: Container) -> None:
        try:
            container.kill()
            container.wait(timeout=10)
        except (APIError, requests.exceptions.RequestException):
            pass  # already gone or exited; removal below forces it anyway

    def _remove(self, container: Container, job_log: JobLog) -> None:
        for attempt in range(3):
            try:
                container.remove(force=True, v=True)
                return
            except NotFound:
                return
            except (APIError, requests.exceptions.RequestException) as exc:
                if attempt == 2:
                    # left for the sweep of a later start-up (label circus.job)
                    log.warning("container not removed", extra={"container": container.id, "error": str(exc)})
                    job_log.detail(f"Warning: the container {container.short_id} could not be removed.")
                time.sleep(0.5)

    @staticmethod
    def _api_error(exc: APIError) -> JobError:
        explanation = str(exc.explanation or exc)
        if "could not select device driver" in explanation:
            return JobError(GPU_MESSAGE)
        return JobError(f"Docker error: {explanation}")


# --- containers left behind ---


def job_containers(client: docker.DockerClient, database: str) -> list[Container]:
    """Every container (running or not) of a job of this installation's database on this engine."""
    filters = {"label": [LABEL_JOB, f"{LABEL_DATABASE}={database}"]}
    return client.containers.list(all=True, filters=filters, ignore_removed=True)


def remove_container(container: Container) -> bool:
    try:
        container.remove(force=True, v=True)
        return True
    except NotFound:
        return True
    except (APIError, requests.exceptions.RequestException):
        log.warning("orphan container not removed", extra={"container": container.id}, exc_info=True)
        return False


def check_engine(client_factory: DockerClientFactory) -> tuple[bool, str, bool]:
    """(answers, message for people, has a GPU runtime); never raises. Blocking."""
    try:
        client = client_factory()
        try:
            client.ping()
            info = client.version()
            gpu = engine_has_gpu_runtime(client)
        finally:
            client.close()
    except Exception as exc:  # any failure means "no engine"; the reason goes into the message
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return False, f"Docker engine not reachable: {reason}", False
    return True, f"Docker engine {info.get('Version', '?')} (API {info.get('ApiVersion', '?')}) answers.", gpu
