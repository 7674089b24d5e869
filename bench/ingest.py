"""Benchmark: importing one CT series over HTTP, the platform against Orthanc and against the disk.

    .venv/bin/python bench/ingest.py [--slices 300] [--size 512] [--concurrency 4] [--batch 30] [--runs 1]
                                     [--only MODE ...] [--install-orthanc]

Writes a synthetic 512x512x300 CT series (the tests' pydicom phantom), reads it into memory, and in
one run imports it with the same client (httpx, `--concurrency` requests in flight at all times):

- `circus`: into the platform as its web UI uploads, `--batch` files per request (default 30, the
  UI's `uploadFileMax`), to `POST /api/series/domain/:domain`. Embedded SecantusDB and Redis, the
  API under `circus serve --no-workers` and `circus worker` with its defaults (as `circus up` starts
  it) run as subprocesses; a user of a group with the upload domain logs in with `POST /api/login`.
  The clock stops when every import task has sent its finish event on `GET /api/tasks/report` (how
  the web UI waits) and the series document lists all images (`images == "1-300"`);
- `circus-file`: the same, one file per request; `circus-single`: one file per request to
  `.../single`, which imports before it answers (no task);
- `orthanc`: into Orthanc (Debian's `orthanc` package), started here with a temporary
  configuration: HTTP on a free port, no DICOM port, no authentication, storage in the temporary
  directory, fsync of each stored file (its default, as the platform does). Orthanc 1.10 has no
  bind-address option: it listens on all interfaces and, with `RemoteAccessAllowed: false`,
  answers loopback clients only. `POST /instances` with one file per request (how its REST clients
  usually upload), until the last answer and its series lists all instances;
- `orthanc-zip`: the same endpoint with uncompressed zip archives of `--batch` files (Orthanc
  unpacks them itself): request for request, the like of `circus`;
- `plain`: a plain loop, the machine's limit for this work: per file `pydicom.dcmread(...,
  stop_before_pixels=True)`, sha1 of the bytes, write to a temporary file + fsync + rename, on the
  same disk, one file after the other.

Each system starts every run from an empty store (cleared between runs, not timed). Beside the
wall-clock rates it prints the CPU time each import cost per instance (all server processes; the
loop's own for the plain loop) and the client's, which a shared machine disturbs much less, and the
ratios against the targets (the platform at least 2x Orthanc's rate and at least half the plain
loop's). Not a test: nothing asserts.

The script installs nothing, except Orthanc with `--install-orthanc` (apt-get, as root).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pydicom
from pymongo import AsyncMongoClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from admin import accounts  # noqa: E402
from bench.export import child, cpu_seconds, descendants, wait_for_port  # noqa: E402
from circus_api.embedded import EmbeddedMongo, EmbeddedRedis, free_port  # noqa: E402
from tests.circus_api.imaging.synthetic import write_ct_series  # noqa: E402

SERIES_UID = "1.2.826.0.1.3680043.8.498.99002"
WARMUP_UID = "1.2.826.0.1.3680043.8.498.99003"
DATABASE = "circus-bench"
DOMAIN = "bench.example"
USER, LOGIN, PASSWORD = "bench@example.com", "bench", "bench-password-1"
INSTALL_COMMAND = ["apt-get", "install", "-y", "orthanc"]
ORTHANC_TARGET = 2.0  # the platform at least 2x Orthanc's instances/s
PLAIN_TARGET = 0.5  # and at least half the plain loop's

MODES = ("circus", "circus-file", "circus-single", "orthanc", "orthanc-zip", "plain")
UPLOAD_FILE_MAX = 30  # the web UI's files per upload request (`uploadFileMax`, spec 4.1)

Files = list[tuple[str, bytes]]


# ---- Orthanc ---------------------------------------------------------------------------------------


def orthanc_executable(install: bool) -> str:
    """Debian's Orthanc binary; without it, the install command is printed and the script exits."""
    found = shutil.which("Orthanc") or (os.access("/usr/sbin/Orthanc", os.X_OK) and "/usr/sbin/Orthanc") or None
    if found:
        return found
    command = " ".join(INSTALL_COMMAND)
    if not install:
        sys.exit(f"Orthanc is not installed. Install Debian's package (as root):\n    {command}\n"
                 "or run this script with --install-orthanc.")
    if os.geteuid() != 0:
        sys.exit(f"--install-orthanc needs root to run `{command}`.")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(INSTALL_COMMAND, check=True, env=env)
    return orthanc_executable(install=False)


@contextmanager
def orthanc_server(executable: str, base: Path) -> Iterator[tuple[str, int]]:
    """Orthanc on a free loopback port, storage in `base`; yields its URL and process ID."""
    port = free_port()
    config = {
        "Name": "circus-bench",
        "StorageDirectory": str(base / "storage"),
        "IndexDirectory": str(base / "index"),
        "HttpServerEnabled": True,
        "HttpPort": port,
        "RemoteAccessAllowed": False,  # loopback clients only
        "AuthenticationEnabled": False,
        "DicomServerEnabled": False,  # no DICOM port
        "Plugins": [],
        "WebDavEnabled": False,
        "HttpCompressionEnabled": False,
        "StorageCompression": False,
        "SaveJobs": False,
        "SyncStorageArea": True,  # the default: fsync each stored file, as the platform does
    }
    base.mkdir(parents=True, exist_ok=True)
    config_path = base / "orthanc.json"
    config_path.write_text(json.dumps(config))
    log = base / "orthanc.log"
    with open(log, "wb") as out:  # its log goes to a file, not to this script's output
        proc = subprocess.Popen([executable, str(config_path)], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/system", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Orthanc did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield url, proc.pid
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---- the platform ----------------------------------------------------------------------------------


async def create_account(mongo_url: str) -> None:
    """A group that may upload to DOMAIN (and delete series between runs), and a user in it."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        db = client[DATABASE]
        group_id = await accounts.add_group(db, "bench", ["manageServer"], [DOMAIN])
        await accounts.add_user(db, USER, LOGIN, PASSWORD, [group_id], "ingest benchmark")
    finally:
        await client.close()


def log_in(url: str) -> str:
    response = httpx.post(f"{url}/api/login", data={
        "client_id": "circus-front", "client_secret": "bench", "grant_type": "password",
        "username": LOGIN, "password": PASSWORD,
    })
    response.raise_for_status()
    return str(response.json()["access_token"])


# ---- the runs --------------------------------------------------------------------------------------


async def in_flight(jobs: list[Any], concurrency: int, send: Callable[[Any], Awaitable[None]]) -> None:
    """`send` every job, `concurrency` at a time (each sender takes the next job when it is done)."""
    queue = iter(jobs)

    async def sender() -> None:
        for job in queue:
            await send(job)

    await asyncio.gather(*(sender() for _ in range(concurrency)))


@asynccontextmanager
async def task_events(api: httpx.AsyncClient) -> AsyncIterator[dict[str, str]]:
    """The user's task events as they come: task ID -> "finish"/"error", filled in the background."""
    ended: dict[str, str] = {}
    subscribed = asyncio.Event()

    async def listen() -> None:
        async with api.stream("GET", "/tasks/report", timeout=None) as stream:
            event = ""
            async for line in stream.aiter_lines():
                subscribed.set()  # the opening newline: subscribed from here on
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("finish", "error"):
                    ended[json.loads(line.split(":", 1)[1])["taskId"]] = event

    listener = asyncio.create_task(listen())
    await asyncio.wait({listener, asyncio.create_task(subscribed.wait())}, return_when=asyncio.FIRST_COMPLETED)
    if listener.done():
        listener.result()  # the stream failed: raise its error
    try:
        yield ended
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


async def circus_once(url: str, token: str, files: Files, series_uid: str, concurrency: int, batch: int,
                      single: bool = False) -> float:
    """Seconds from the first upload until every task finished and the series lists every image.

    `single`: one file per request to `.../single`, which imports before it answers (no task)."""
    limits = httpx.Limits(max_connections=concurrency + 2)
    async with httpx.AsyncClient(base_url=f"{url}/api", timeout=600, limits=limits,
                                 headers={"Authorization": f"Bearer {token}"}) as api:
        async with task_events(api) as ended:
            task_ids: list[str] = []

            async def upload(chunk: Files) -> None:
                response = await api.post(f"/series/domain/{DOMAIN}" + ("/single" if single else ""), files=[
                    ("files", (name, data, "application/dicom")) for name, data in chunk
                ])
                response.raise_for_status()
                if not single:
                    task_ids.append(response.json()["taskId"])

            started = time.perf_counter()
            await in_flight([files[i:i + batch] for i in range(0, len(files), batch)], concurrency, upload)
            while not all(task_id in ended for task_id in task_ids):
                await asyncio.sleep(0.005)
            document = (await api.get(f"/series/{series_uid}")).json()
            elapsed = time.perf_counter() - started
        failed = [task_id for task_id in task_ids if ended[task_id] != "finish"]
        if failed:
            raise RuntimeError(f"import task failed: {(await api.get(f'/tasks/{failed[0]}')).json()}")
        if document.get("images") != f"1-{len(files)}":
            raise RuntimeError(f"the series lists images {document.get('images')!r}, not 1-{len(files)}")
    return elapsed


def circus_clear(url: str, token: str, series_uid: str) -> None:
    httpx.delete(f"{url}/api/series/{series_uid}", headers={"Authorization": f"Bearer {token}"},
                 timeout=600).raise_for_status()


def zipped(files: Files, batch: int) -> Files:
    """The files in zip archives of `batch` members, stored uncompressed (Orthanc's batched upload)."""
    archives = []
    for start in range(0, len(files), batch):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for name, data in files[start:start + batch]:
                archive.writestr(name, data)
        archives.append((f"batch{start}.zip", buffer.getvalue()))
    return archives


async def orthanc_once(url: str, bodies: Files, instances: int, concurrency: int) -> float:
    """Seconds from the first `POST /instances` until the series lists every instance.

    `bodies`: DICOM files (one instance per request) or zip archives of several."""
    async with httpx.AsyncClient(base_url=url, timeout=600,
                                 limits=httpx.Limits(max_connections=concurrency + 2)) as orthanc:
        series_ids: set[str] = set()

        async def store(item: tuple[str, bytes]) -> None:
            archive = item[0].endswith(".zip")
            response = await orthanc.post("/instances", content=item[1], headers={
                "Content-Type": "application/zip" if archive else "application/dicom"})
            response.raise_for_status()
            answers = response.json()
            for answer in answers if archive else [answers]:
                if answer.get("Status") != "Success":
                    raise RuntimeError(f"Orthanc did not store {item[0]}: {answer}")
                series_ids.add(answer["ParentSeries"])

        started = time.perf_counter()
        await in_flight(bodies, concurrency, store)
        (series_id,) = series_ids
        stored = len((await orthanc.get(f"/series/{series_id}")).json()["Instances"])
        elapsed = time.perf_counter() - started
    if stored != instances:
        raise RuntimeError(f"Orthanc's series holds {stored} instances, not {instances}")
    return elapsed


def orthanc_clear(url: str) -> None:
    for series_id in httpx.get(f"{url}/series").json():
        httpx.delete(f"{url}/series/{series_id}", timeout=600).raise_for_status()


def plain_once(files: Files, target: Path) -> float:
    """Seconds for the loop: parse the header, sha1, write + fsync + rename, file after file."""
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for name, data in files:
        dataset = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        digest = hashlib.sha1(data).hexdigest()
        temp = target / f".{digest}.tmp"
        with open(temp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target / f"{dataset.InstanceNumber:08d}-{name}")
    return time.perf_counter() - started


def read_series(folder: Path) -> Files:
    return [(path.name, path.read_bytes()) for path in sorted(folder.iterdir())]


@dataclass(frozen=True)
class Import:
    label: str
    run: Callable[[], float]  # wall seconds
    clear: Callable[[], None]  # back to an empty store; not measured
    processes: dict[str, list[int]]  # whose CPU it costs, by part; empty: this process's own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight, for both servers")
    parser.add_argument("--batch", type=int, default=UPLOAD_FILE_MAX,
                        help="files per request in the batched runs (default: the web UI's uploadFileMax)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each import (medians are printed)")
    parser.add_argument("--only", action="append", choices=MODES, metavar="MODE",
                        help=f"run only this import (repeatable; one of {', '.join(MODES)})")
    parser.add_argument("--install-orthanc", action="store_true",
                        help="if Orthanc is missing, install Debian's package with apt-get (as root)")
    args = parser.parse_args()
    orthanc_exe = orthanc_executable(args.install_orthanc)
    load_start = os.getloadavg()

    with tempfile.TemporaryDirectory(prefix="circus-bench-") as temp, ExitStack() as stack:
        base = Path(temp)
        data = base / "data"
        started = time.perf_counter()
        write_ct_series(base / "series", args.slices, args.size, series_uid=SERIES_UID)
        write_ct_series(base / "warmup", 8, 64, series_uid=WARMUP_UID)
        files, warmup = read_series(base / "series"), read_series(base / "warmup")
        archives = zipped(files, args.batch)
        size_mb = sum(len(d) for _, d in files) / 1e6
        print(f"series: {args.size}x{args.size}x{args.slices} CT, {size_mb:.0f} MB, "
              f"written in {time.perf_counter() - started:.1f} s; client concurrency {args.concurrency}")

        mongo = stack.enter_context(EmbeddedMongo(base / "mongo"))
        redis_server = stack.enter_context(EmbeddedRedis(base / "redis"))
        asyncio.run(create_account(mongo.url))
        port = free_port()
        env = {**os.environ, "MONGO_URL": mongo.url, "CIRCUS_DB": DATABASE, "REDIS_URL": redis_server.url,
               "CIRCUS_DATA_DIR": str(data), "CIRCUS_PORT": str(port)}
        api_log = base / "api.log"
        api_proc = stack.enter_context(child(["serve", "--no-workers"], env, api_log))
        worker = stack.enter_context(child(["worker"], env, base / "worker.log"))  # as `circus up` starts it
        wait_for_port(port, api_proc, api_log)
        circus_url = f"http://127.0.0.1:{port}"
        token = log_in(circus_url)
        orthanc_url, orthanc_pid = stack.enter_context(orthanc_server(orthanc_exe, base / "orthanc"))

        # warm-up: imports in the worker, database clients, connections, page cache
        for batch, single in ((1, False), (4, False), (1, True)):
            asyncio.run(circus_once(circus_url, token, warmup, WARMUP_UID, args.concurrency, batch, single))
            circus_clear(circus_url, token, WARMUP_UID)
        for bodies in (warmup, zipped(warmup, 4)):
            asyncio.run(orthanc_once(orthanc_url, bodies, len(warmup), args.concurrency))
            orthanc_clear(orthanc_url)

        worker_pids = descendants(worker.pid)
        print(f"circus worker: {len(worker_pids) - 1} process(es) (`circus worker` defaults); API: one process")
        circus = {
            "API": [api_proc.pid, *descendants(api_proc.pid)],
            "worker": worker_pids,
            "SecantusDB": [mongo.pid or 0, *descendants(mongo.pid or 0)],
            "Redis": [redis_server.pid or 0],
        }
        orthanc = {"Orthanc": [orthanc_pid]}

        def circus_import(batch: int, single: bool = False) -> Callable[[], float]:
            return lambda: asyncio.run(circus_once(circus_url, token, files, SERIES_UID, args.concurrency, batch,
                                                   single))

        def orthanc_import(bodies: Files) -> Callable[[], float]:
            return lambda: asyncio.run(orthanc_once(orthanc_url, bodies, len(files), args.concurrency))

        clear_circus = lambda: circus_clear(circus_url, token, SERIES_UID)  # noqa: E731
        clear_orthanc = lambda: orthanc_clear(orthanc_url)  # noqa: E731
        imports = {
            "circus": Import(f"circus, {args.batch} files per request", circus_import(args.batch), clear_circus,
                             circus),
            "circus-file": Import("circus, 1 file per request", circus_import(1), clear_circus, circus),
            "circus-single": Import("circus .../single (1 file, no task)", circus_import(1, single=True),
                                    clear_circus, circus),
            "orthanc": Import("Orthanc POST /instances, 1 file per request", orthanc_import(files), clear_orthanc,
                              orthanc),
            "orthanc-zip": Import(f"Orthanc POST /instances, zips of {args.batch} files",
                                  orthanc_import(archives), clear_orthanc, orthanc),
            "plain": Import("plain loop (parse, sha1, write+fsync+rename)",
                            lambda: plain_once(files, data / "plain"),
                            lambda: shutil.rmtree(data / "plain"), {}),
        }
        imports = {name: run for name, run in imports.items() if not args.only or name in args.only}
        measured: dict[str, list[Measurement]] = {name: [] for name in imports}
        for _ in range(args.runs):
            for name, one in imports.items():
                measured[name].append(measure(one))
                one.clear()
    load_end = os.getloadavg()
    report(imports, measured, args, load_start, load_end)


@dataclass(frozen=True)
class Measurement:
    wall: float
    client_cpu: float  # this process: the HTTP client, or the whole plain loop
    server_cpu: dict[str, float]  # per server part


def measure(one: Import) -> Measurement:
    before = {name: cpu_seconds(pids) for name, pids in one.processes.items()}
    client = time.process_time()
    wall = one.run()
    client = time.process_time() - client
    return Measurement(wall, client, {name: cpu_seconds(pids) - before[name] for name, pids in one.processes.items()})


def report(imports: dict[str, Import], measured: dict[str, list[Measurement]], args: argparse.Namespace,
           load_start: tuple[float, float, float], load_end: tuple[float, float, float]) -> None:
    def median_of(name: str, value: Callable[[Measurement], float]) -> float:
        return statistics.median(value(m) for m in measured[name])

    rate = {name: args.slices / median_of(name, lambda m: m.wall) for name in measured}
    print(f"runs: {args.runs} (medians; all wall times: " + ", ".join(
        f"{name} {' '.join(f'{m.wall:.2f}' for m in values)} s" for name, values in measured.items()) + ")")
    # CPU per instance: what the servers used (the loop's own CPU for the plain loop); steadier than
    # wall time on a shared machine
    per_instance = 1000 / args.slices
    cpu = {name: median_of(name, lambda m: sum(m.server_cpu.values()) if m.server_cpu else m.client_cpu)
           * per_instance for name in measured}
    print(f"{'':<48} {'inst/s':>7} {'wall':>7} {'CPU ms/inst':>11}  of which (ms/inst); client CPU")
    for name in measured:
        parts = ", ".join(f"{part} {median_of(name, lambda m, p=part: m.server_cpu[p]) * per_instance:.1f}"
                          for part in measured[name][0].server_cpu)
        client = median_of(name, lambda m: m.client_cpu) * per_instance
        print(f"{imports[name].label:<48} {rate[name]:>7.1f} {median_of(name, lambda m: m.wall):>6.2f}s "
              f"{cpu[name]:>11.1f}  {parts or '-'}; client {client:.1f}")
    comparisons = (
        ("circus", "orthanc", ORTHANC_TARGET), ("circus", "orthanc-zip", ORTHANC_TARGET),
        ("circus", "plain", PLAIN_TARGET), ("circus-file", "orthanc", ORTHANC_TARGET),
        ("circus-file", "plain", PLAIN_TARGET),
    )
    for ours, theirs, target in comparisons:
        if ours in rate and theirs in rate:
            ratio = rate[ours] / rate[theirs]
            print(f"{ours:<12} / {theirs:<12}: {ratio:5.2f}x  target >= {target:g}x  "
                  f"{'PASS' if ratio >= target else 'MISS'}   (CPU per instance: {cpu[ours] / cpu[theirs]:.1f}x)")
    print(f"load average (1 min) at start {load_start[0]:.2f}, at end {load_end[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
