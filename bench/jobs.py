"""Benchmark: the plug-in job path against bare Docker and SimpleITK.

    .venv/bin/python bench/jobs.py [--runs 10] [--jobs 50] [--slices 300] [--size 512] [--prep-runs 3]

Prints, in one run:

(a) latency: `POST /api/plugin-jobs` until `GET /api/plugin-jobs/:id` (polled every 20 ms) says
    `finished`, for a no-op plug-in, against a bare `docker run --rm` of the same image with the
    same mounts and sandbox flags; median of `--runs` each, interleaved. Target: overhead at
    most 0.5 s or 1.5x, whichever is larger. The job's own timestamps (job document and
    plugin-log.txt) split the median job into its phases.
(b) throughput: `--jobs` jobs submitted at once (`force: true`) to a manager with 2 slots;
    wall time from the first POST until all are finished, as jobs/minute; beside it the same
    number of bare runs, 2 at a time. No target.
(c) input preparation: `job_manager.inputs.build_inputs` (what a job does before its container
    starts: `0.mhd`, `0.raw`, `0.json`) on a synthetic 512x512x300 CT series, against a SimpleITK
    ImageSeriesReader (int16) + WriteImage(.mhd) of the same files; medians of `--prep-runs`.
    Target: at most 1.3x.

The no-op plug-in is built here FROM circus-plugin-base:bookworm (`sh` writes `{}` to
results.json) and registered with `circus plugin register`. The platform runs as subprocesses
on a temporary data directory: embedded SecantusDB and Redis, `circus serve --no-workers`,
`circus job-manager --slots 2` (its other settings are the defaults, e.g. the 0.25 s queue poll);
the small series of (a)/(b) (64x64x8) is imported with `circus import-series`.
Not a test: nothing asserts, the targets are printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import docker
import httpx
import SimpleITK as sitk
from pymongo import MongoClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circus_api.embedded import EmbeddedMongo, EmbeddedRedis, free_port  # noqa: E402
from circus_api.settings import Settings  # noqa: E402
from job_manager.inputs import build_inputs, remove_tree  # noqa: E402
from job_manager.runner import PIDS_LIMIT, TMPFS_OPTIONS  # noqa: E402
from tests.circus_api.imaging.synthetic import write_ct_series  # noqa: E402

BASE_IMAGE = "circus-plugin-base:bookworm"
NOOP_TAG = "circus-bench-noop:1.0.0"
SMALL_UID = "1.2.826.0.1.3680043.8.498.99101"
LARGE_UID = "1.2.826.0.1.3680043.8.498.99102"
DOMAIN = "bench.example"
TOKEN = "j" * 40
USER = "bench@example.com"
DATABASE = "circus-bench-jobs"
POLL_S = 0.02
TERMINAL = ("finished", "failed", "cancelled", "invalidated")
LATENCY_SLACK_S, LATENCY_RATIO = 0.5, 1.5
PREP_RATIO = 1.3
# the sandbox of job_manager.runner.DockerRunner as `docker run` flags (memory and CPUs: its
# defaults, 4g and min(2, cores))
SANDBOX_FLAGS = [
    "--network", "none", "--read-only", "--tmpfs", f"/tmp:{TMPFS_OPTIONS}", "--cap-drop", "ALL",
    "--security-opt", "no-new-privileges", "--pids-limit", str(PIDS_LIMIT), "--memory", "4g",
    "--memory-swap", "4g", "--cpus", str(min(2, os.cpu_count() or 1)), "--user", "10001:10001",
]
NOOP_DOCKERFILE = f"""FROM {BASE_IMAGE}
COPY plugin.json /plugin.json
USER 10001:10001
CMD ["/bin/sh", "-c", "echo '{{}}' > /circus/out/results.json"]
"""
NOOP_MANIFEST = {"type": "CAD", "pluginName": "bench no-op", "version": "1.0.0",
                 "description": "Writes {} to results.json and exits (bench/jobs.py)."}


# ---- set-up --------------------------------------------------------------------------------------


def build_noop_image(client: docker.DockerClient) -> str:
    """The no-op plug-in image (offline: it only adds a file to the local base); its 64-hex ID."""
    client.images.get(BASE_IMAGE)  # ImageNotFound: build it with plugins/base/build.sh
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        files = {"Dockerfile": NOOP_DOCKERFILE.encode(), "plugin.json": json.dumps(NOOP_MANIFEST).encode()}
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    image, _ = client.images.build(fileobj=io.BytesIO(out.getvalue()), custom_context=True, tag=NOOP_TAG,
                                   rm=True, forcerm=True, network_mode="none")
    return str(image.id).removeprefix("sha256:")


def cli(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-m", "circus_api.cli", *args], env=env, cwd=ROOT,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"circus {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def seed(mongo_url: str, plugin_id: str) -> None:
    """A user with a token, in a group that may run the no-op plug-in on the bench's domain."""
    client: MongoClient = MongoClient(mongo_url)
    db = client[DATABASE]
    roles = ("readPlugin", "executePlugin", "manageJobs", "inputPersonalFeedback", "inputConsensualFeedback",
             "manageFeedback", "viewPersonalInfo")
    db.groups.insert_one({
        "groupId": 1, "groupName": "bench", "privileges": [], "domains": [DOMAIN], "readProjects": [],
        "writeProjects": [], "addSeriesProjects": [], "viewPersonalInfoProjects": [], "moderateProjects": [],
        **{role: [plugin_id] if role in ("readPlugin", "executePlugin") else [] for role in roles},
    })
    db.users.insert_one({"userEmail": USER, "loginId": "bench", "groups": [1], "preferences": {},
                         "loginEnabled": True})
    db.tokens.insert_one({"accessToken": TOKEN, "userId": USER, "permanentTokenId": None})
    client.close()


@contextmanager
def child(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "circus_api.cli", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until_up(api: httpx.Client, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if api.get("/status").status_code < 500:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the API did not start:\n{log.read_text()}")
        time.sleep(0.1)


def wait_for_manager(mongo_url: str, manager: subprocess.Popen[bytes], log: Path) -> None:
    """Until the job manager registered itself and saw the Docker engine."""
    client: MongoClient = MongoClient(mongo_url)
    try:
        deadline = time.monotonic() + 60
        while not client[DATABASE].pluginJobManager.find_one({"key": {"$regex": "^manager:"}, "dockerAvailable": True}):
            if manager.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the job manager did not start:\n{log.read_text()}")
            time.sleep(0.1)
    finally:
        client.close()


# ---- (a) latency ---------------------------------------------------------------------------------


def bare_run(image: str, in_dir: Path, out_dir: Path) -> float:
    """Seconds of `docker run --rm` with the job's mounts and sandbox (the CLI's own start included)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    out_dir.chmod(0o777)
    started = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", *SANDBOX_FLAGS, "-v", f"{in_dir}:/circus/in:ro",
                    "-v", f"{out_dir}:/circus/out", image], check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    if json.loads((out_dir / "results.json").read_text()) != {}:
        raise RuntimeError("the no-op plug-in wrote something else")
    return elapsed


def job_body(plugin_id: str) -> dict[str, Any]:
    return {"pluginId": plugin_id, "force": True,
            "series": [{"seriesUid": SMALL_UID, "partialVolumeDescriptor": "auto"}]}


def job_once(api: httpx.Client, plugin_id: str) -> tuple[float, float, str]:
    """(seconds from the POST until `finished` is seen, seconds of the POST itself, job ID)."""
    started = time.perf_counter()
    response = api.post("/plugin-jobs", json=job_body(plugin_id))
    response.raise_for_status()
    posted = time.perf_counter() - started
    job_id = response.json()["jobId"]
    while True:
        status = api.get(f"/plugin-jobs/{job_id}").json()["status"]
        if status in TERMINAL:
            break
        time.sleep(POLL_S)
    elapsed = time.perf_counter() - started
    if status != "finished":
        raise RuntimeError(f"job {job_id} ended {status}: {api.get(f'/plugin-jobs/{job_id}').json()}")
    return elapsed, posted, job_id


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


_LOG_TIME = re.compile(r"^\[([0-9T:.\-]+Z)\] (.*)$")
_CONTAINER = re.compile(r"Container exited with code \S+ after ([0-9.]+) s\.")


def phases(api: httpx.Client, job_id: str, elapsed: float, posted: float) -> dict[str, float]:
    """Where one job's time went (seconds), from its document and its plugin-log.txt; the POST
    and the last step (`finishedAt` until the poll saw it) are measured by the client. The
    server's timestamps have millisecond resolution."""
    job = api.get(f"/plugin-jobs/{job_id}").json()
    log = api.get(f"/plugin-jobs/{job_id}/attachment/plugin-log.txt").text
    stamps: dict[str, dt.datetime] = {}
    container_s = 0.0
    for line in log.splitlines():
        if match := _LOG_TIME.match(line):
            text = match.group(2)
            key = ("plugin" if text.startswith("Starting the plug-in") else "done" if text.startswith(
                "Plug-in execution done") else "end" if text.startswith("Job execution done") else "")
            if key:
                stamps[key] = _time(match.group(1))
        elif match := _CONTAINER.search(line):
            container_s = float(match.group(1))
    created, started, finished = (_time(job[k]) for k in ("createdAt", "startedAt", "finishedAt"))
    return {
        "POST /plugin-jobs (client)": posted,
        "queued (createdAt -> claimed)": (started - created).total_seconds(),
        "inputs (-> container create)": (stamps["plugin"] - started).total_seconds(),
        "docker (create..remove)": (stamps["done"] - stamps["plugin"]).total_seconds(),
        "  of which start -> exit": container_s,
        "results (-> finished)": (finished - stamps["done"]).total_seconds(),
        "seen by the 20 ms poll (rest)": elapsed - posted - (finished - created).total_seconds(),
    }


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes (all their threads) so far; gone ones count 0."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def engine_pids() -> list[int]:
    """dockerd and containerd (the per-container shims come and go; they are not counted)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if name in ("dockerd", "containerd"):
                found.append(int(entry.name))
    return found


# ---- (b) throughput ------------------------------------------------------------------------------


def throughput(api: httpx.Client, mongo_url: str, plugin_id: str, count: int) -> tuple[float, int]:
    """(wall seconds from the first POST until all `count` jobs ended, how many failed)."""
    client: MongoClient = MongoClient(mongo_url)
    jobs = client[DATABASE].pluginJobs
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:  # "at once": as fast as the API takes them
            responses = list(pool.map(lambda _: api.post("/plugin-jobs", json=job_body(plugin_id)), range(count)))
        ids = [r.raise_for_status().json()["jobId"] for r in responses]
        while jobs.count_documents({"jobId": {"$in": ids}, "status": {"$in": list(TERMINAL)}}) < count:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        failed = jobs.count_documents({"jobId": {"$in": ids}, "status": {"$ne": "finished"}})
        return elapsed, failed
    finally:
        client.close()


def bare_throughput(image: str, in_dir: Path, work: Path, count: int) -> float:
    """Wall seconds of `count` bare runs, 2 at a time (the manager's slots)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda n: bare_run(image, in_dir, work / f"out{n}"), range(count)))
    return time.perf_counter() - started


# ---- (c) input preparation -----------------------------------------------------------------------


def simpleitk_once(series_dir: Path, out_dir: Path) -> tuple[float, float]:
    """(wall, CPU seconds) of reading the series as int16 and writing it as .mhd/.raw."""
    started, cpu = time.perf_counter(), time.process_time()
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(series_dir)))
    reader.SetOutputPixelType(sitk.sitkInt16)
    sitk.WriteImage(reader.Execute(), str(out_dir / "0.mhd"))
    return time.perf_counter() - started, time.process_time() - cpu


def build_inputs_once(dicom_dir: Path, work_dir: Path, slices: int, run: int) -> tuple[float, float]:
    """(wall, CPU seconds) of the job manager's input preparation for the whole series."""
    job_id = f"benchprep{run}"
    series = [{"seriesUid": LARGE_UID, "partialVolumeDescriptor": {"start": 1, "end": slices, "delta": 1}}]
    started, cpu = time.perf_counter(), time.process_time()  # build_inputs' thread is in this process
    folder, _names = asyncio.run(build_inputs(dicom_dir, work_dir, job_id, series))
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    remove_tree(folder.root)
    return elapsed, used


# ---- report --------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="runs of (a), each way")
    parser.add_argument("--jobs", type=int, default=50, help="jobs of (b)")
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--prep-runs", type=int, default=3)
    args = parser.parse_args()
    loads = [os.getloadavg()[0]]
    sampler_stop = threading.Event()

    def sample_load() -> None:
        while not sampler_stop.wait(5):
            loads.append(os.getloadavg()[0])

    threading.Thread(target=sample_load, daemon=True).start()
    docker_client = docker.from_env(timeout=120)
    plugin_id = build_noop_image(docker_client)
    docker_client.close()
    print(f"no-op plug-in image {NOOP_TAG} ({plugin_id[:12]}), docker {shutil.which('docker')}; "
          f"job manager: 2 slots, queue poll {Settings.from_env().job_poll_seconds:g} s")

    with tempfile.TemporaryDirectory(prefix="circus-bench-jobs-") as temp:
        base = Path(temp)
        data = base / "data"
        write_ct_series(base / "small", 8, 64, series_uid=SMALL_UID)

        with ExitStack() as stack:
            mongo = stack.enter_context(EmbeddedMongo(base / "mongo"))
            redis_server = stack.enter_context(EmbeddedRedis(base / "redis"))
            port = free_port()
            env = {**os.environ, "MONGO_URL": mongo.url, "CIRCUS_DB": DATABASE, "REDIS_URL": redis_server.url,
                   "CIRCUS_DATA_DIR": str(data), "CIRCUS_PORT": str(port), "PYTHONUNBUFFERED": "1"}
            cli(["migrate"], env)
            cli(["plugin", "register", NOOP_TAG, "--yes"], env)
            seed(mongo.url, plugin_id)
            cli(["import-series", "--domain", DOMAIN, str(base / "small")], env)
            api_log, manager_log = base / "api.log", base / "job-manager.log"
            api_proc = stack.enter_context(child(["serve", "--no-workers"], env, api_log))
            manager = stack.enter_context(child(["job-manager", "--slots", "2"], env, manager_log))
            api = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=120,
                                                   headers={"Authorization": f"Bearer {TOKEN}"}))
            wait_until_up(api, api_proc, api_log)
            wait_for_manager(mongo.url, manager, manager_log)

            # the bare run gets the very input files a job gets
            in_dir = base / "bare" / "in"
            in_dir.parent.mkdir()
            series = [{"seriesUid": SMALL_UID, "partialVolumeDescriptor": {"start": 1, "end": 8, "delta": 1}}]
            folder, _ = asyncio.run(build_inputs(data / "dicom", base / "bare-work", "bare", series))
            shutil.copytree(folder.in_dir, in_dir)
            out_dir = base / "bare" / "out"

            bare_run(plugin_id, in_dir, out_dir)  # warm-up: page cache, engine, connections
            job_once(api, plugin_id)
            bare_times, job_times, split = [], [], []
            for _ in range(args.runs):
                bare_times.append(bare_run(plugin_id, in_dir, out_dir))
                elapsed, posted, job_id = job_once(api, plugin_id)
                job_times.append(elapsed)
                split.append(phases(api, job_id, elapsed, posted))

            groups = {"database (SecantusDB)": [mongo.pid or 0], "API": [api_proc.pid],
                      "job manager": [manager.pid], "dockerd + containerd": engine_pids()}
            before = {name: cpu_seconds(pids) for name, pids in groups.items()}
            wall, failed = throughput(api, mongo.url, plugin_id, args.jobs)
            cpu_b = {name: cpu_seconds(pids) - before[name] for name, pids in groups.items()}
            (base / "bare-b").mkdir()
            bare_wall = bare_throughput(plugin_id, in_dir, base / "bare-b", args.jobs)

        # (c) with the platform stopped: nothing else of ours competes for the 2 cores
        dicom_dir = base / "large"
        started = time.perf_counter()
        write_ct_series(dicom_dir / LARGE_UID, args.slices, args.size, series_uid=LARGE_UID)
        print(f"large series {args.size}x{args.size}x{args.slices} written in {time.perf_counter() - started:.1f} s")
        sitk_out = base / "sitk"
        sitk_out.mkdir()
        prep: dict[str, list[tuple[float, float]]] = {"simpleitk": [], "build_inputs": []}
        build_inputs_once(dicom_dir, base / "prep-work", args.slices, 0)  # warm-up: page cache, imports
        for run in range(args.prep_runs):
            prep["simpleitk"].append(simpleitk_once(dicom_dir / LARGE_UID, sitk_out))
            prep["build_inputs"].append(build_inputs_once(dicom_dir, base / "prep-work", args.slices, run + 1))
    sampler_stop.set()

    bare, job = statistics.median(bare_times), statistics.median(job_times)
    allowed = max(bare + LATENCY_SLACK_S, bare * LATENCY_RATIO)
    per_minute = args.jobs / wall * 60
    bare_per_minute = args.jobs / bare_wall * 60
    prep_wall = {name: statistics.median(w for w, _ in values) for name, values in prep.items()}
    prep_cpu = {name: statistics.median(c for _, c in values) for name, values in prep.items()}
    prep_ratio = prep_wall["build_inputs"] / prep_wall["simpleitk"]

    print()
    print(f"(a) all runs, s: bare {' '.join(f'{v:.2f}' for v in bare_times)}")
    print(f"                 job  {' '.join(f'{v:.2f}' for v in job_times)}")
    print("    median job by phase (job document and plugin-log.txt timestamps), s:")
    for key in split[0]:
        print(f"      {key:32s} {statistics.median(s[key] for s in split):.3f}")
    print(f"(b) CPU seconds during the {wall:.1f} s (2 cores: {2 * wall:.1f} s available): " + ", ".join(
        f"{name} {seconds:.1f}" for name, seconds in cpu_b.items()))
    print(f"(c) all runs, s: simpleitk {' '.join(f'{w:.2f}' for w, _ in prep['simpleitk'])}; "
          f"build_inputs {' '.join(f'{w:.2f}' for w, _ in prep['build_inputs'])}")
    print()
    rows = [
        ("(a) no-op job, POST -> finished", f"{job:.2f} s", f"docker run --rm {bare:.2f} s",
         f"<= {allowed:.2f} s (max(+{LATENCY_SLACK_S} s, {LATENCY_RATIO}x))",
         f"{verdict(job <= allowed)} (+{job - bare:.2f} s, {job / bare:.2f}x)"),
        (f"(b) {args.jobs} no-op jobs, 2 slots", f"{per_minute:.0f} jobs/min ({wall:.1f} s)",
         f"bare, 2 at a time {bare_per_minute:.0f} jobs/min ({bare_wall:.1f} s)", "none (reported)",
         f"{per_minute / bare_per_minute:.0%} of bare" + (f", {failed} FAILED" if failed else "")),
        (f"(c) inputs of {args.size}x{args.size}x{args.slices}", f"{prep_wall['build_inputs']:.2f} s "
         f"(CPU {prep_cpu['build_inputs']:.2f})", f"SimpleITK {prep_wall['simpleitk']:.2f} s "
         f"(CPU {prep_cpu['simpleitk']:.2f})", f"<= {PREP_RATIO}x", f"{verdict(prep_ratio <= PREP_RATIO)} "
         f"({prep_ratio:.2f}x)"),
    ]
    header = ("measure", "circus", "baseline", "target", "result")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print()
    print(f"load average (1 min) during the run: min {min(loads):.2f}, max {max(loads):.2f}, "
          f"at the end {os.getloadavg()[0]:.2f}, on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
