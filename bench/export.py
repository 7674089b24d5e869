"""Benchmark: MHD export of one case end to end, against a direct SimpleITK read-and-write.

    .venv/bin/python bench/export.py [--slices 300] [--size 512] [--runs 3] [--noise 20]

Builds a synthetic 512x512x300 CT series (the tests' pydicom phantom; `--noise 20` adds the noise
of real CT, which makes compression the dominant cost) and a case with two voxel labels, starts
the real parts (embedded SecantusDB and Redis, the API under `circus serve`, one task worker
under `circus worker`), then times `POST /api/cases/export-mhd` until the task's finish event on
the progress stream (tgz, the default, and zip), and in the same run a SimpleITK
ImageSeriesReader (int16) + WriteImage(.mhd) of the same files. Prints the medians, the wall-time
ratio, the CPU time each used (API + worker processes for the export), and the worker's peak
memory.

Peak memory is the kernel's high-water mark (VmHWM in /proc/<pid>/status) of each worker
process, read after the runs: exact, where sampling RSS could miss a short peak. The worker is
`circus worker` -> dramatiq -> one forked worker process; the largest of them is reported.
Not a test: nothing asserts, the targets are printed beside the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import numpy as np
import SimpleITK as sitk
from pymongo import MongoClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circus_api.embedded import EmbeddedMongo, EmbeddedRedis, free_port  # noqa: E402
from circus_api.imaging.labels import pack_label  # noqa: E402
from tests.circus_api.imaging.synthetic import write_ct_series  # noqa: E402

SERIES_UID = "1.2.826.0.1.3680043.8.498.99001"
PROJECT_ID = "01benchproject000000000000"
CASE_ID = "01benchcase000000000000000"
TOKEN = "b" * 40
USER = "bench@example.com"
RATIO_TARGET = 1.5
MEMORY_TARGET_MB = 150


def sphere_mask(size: tuple[int, int, int]) -> np.ndarray:
    """An ellipsoid filling a (x, y, z) box, as a (z, y, x) mask."""
    sx, sy, sz = size
    z, y, x = np.ogrid[:sz, :sy, :sx]
    return ((x - sx / 2) / (sx / 2)) ** 2 + ((y - sy / 2) / (sy / 2)) ** 2 + ((z - sz / 2) / (sz / 2)) ** 2 <= 1


def seed(mongo_url: str, database: str, blob_dir: Path, slices: int, size: int) -> None:
    """A user with downloadVolume and read on a project, and the case with two voxel labels."""
    labels = []
    for origin, box in (((size // 4, size // 3, slices // 3), (120, 100, 60)),
                        ((size // 2, size // 2, slices // 2), (80, 80, 40))):
        bits = pack_label(sphere_mask(box))
        blob_hash = hashlib.sha1(bits).hexdigest()
        (blob_dir / blob_hash).write_bytes(bits)
        labels.append({"type": "voxel", "data": {"voxels": blob_hash, "origin": list(origin), "size": list(box)}})
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    client: MongoClient = MongoClient(mongo_url)
    db = client[database]
    db.groups.insert_one({"groupId": 1, "groupName": "bench", "privileges": ["downloadVolume"],
                          "domains": ["bench.example"], "readProjects": [PROJECT_ID]})
    db.users.insert_one({"userEmail": USER, "loginId": "bench", "groups": [1], "preferences": {},
                         "loginEnabled": True})
    db.projects.insert_one({"projectId": PROJECT_ID, "projectName": "Bench"})
    db.tokens.insert_one({"accessToken": TOKEN, "userId": USER, "permanentTokenId": None})
    revision = {"creator": USER, "description": now, "attributes": {}, "status": "draft",
                "series": [{"seriesUid": SERIES_UID,
                            "partialVolumeDescriptor": {"start": 1, "end": slices, "delta": 1},
                            "labels": labels}]}
    db.clinicalCases.insert_one({"caseId": CASE_ID, "projectId": PROJECT_ID, "tags": [], "domains": [],
                                 "revisions": [revision], "latestRevision": revision})
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
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start:\n{log.read_text()}") from None
            time.sleep(0.1)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes (all their threads) so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def export_once(api: httpx.Client, compression_format: str) -> float:
    """Seconds from the POST to the task's finish event on the progress stream (`/tasks/report`,
    as the web UI waits); polling instead would load the API and the database during the run."""
    with api.stream("GET", "/tasks/report") as stream:
        lines = stream.iter_lines()
        next(lines)  # the stream's opening newline: subscribed from here on
        started = time.perf_counter()
        response = api.post("/cases/export-mhd", json={"caseIds": [CASE_ID], "compressionFormat": compression_format})
        response.raise_for_status()
        task_id = response.json()["taskId"]
        event = ""
        for line in lines:
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif (line.startswith("data:") and event in ("finish", "error")
                  and json.loads(line.split(":", 1)[1])["taskId"] == task_id):
                break
        elapsed = time.perf_counter() - started
    if event != "finish":
        raise RuntimeError(f"the export failed: {api.get(f'/tasks/{task_id}').json()}")
    return elapsed


def simpleitk_once(series_dir: Path, out_dir: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of reading the series and writing it as .mhd/.raw."""
    started, cpu = time.perf_counter(), time.process_time()
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(series_dir)))
    reader.SetOutputPixelType(sitk.sitkInt16)  # else uint16 + intercept widens to int32
    sitk.WriteImage(reader.Execute(), str(out_dir / "vol000.mhd"))
    return time.perf_counter() - started, time.process_time() - cpu


def descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, parent in parents.items() if parent == current]
        found += children
        frontier += children
    return found


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--noise", type=float, default=0.0,
                        help="HU of Gaussian noise in the phantom (real CT has ~20; none compresses very well)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="circus-bench-") as temp, ExitStack() as stack:
        base = Path(temp)
        data = base / "data"
        dicom_dir, blob_dir = data / "dicom", data / "labels"
        blob_dir.mkdir(parents=True)
        started = time.perf_counter()
        write_ct_series(dicom_dir / SERIES_UID, args.slices, args.size, series_uid=SERIES_UID, noise=args.noise)
        print(f"series: {args.size}x{args.size}x{args.slices} CT, noise {args.noise:g} HU, "
              f"written in {time.perf_counter() - started:.1f} s")

        mongo = stack.enter_context(EmbeddedMongo(base / "mongo"))
        redis_server = stack.enter_context(EmbeddedRedis(base / "redis"))
        seed(mongo.url, "circus-bench", blob_dir, args.slices, args.size)
        port = free_port()
        env = {**os.environ, "MONGO_URL": mongo.url, "CIRCUS_DB": "circus-bench", "REDIS_URL": redis_server.url,
               "CIRCUS_DATA_DIR": str(data), "CIRCUS_PORT": str(port)}
        api_log, worker_log = base / "api.log", base / "worker.log"
        api_proc = stack.enter_context(child(["serve", "--no-workers"], env, api_log))
        worker = stack.enter_context(child(["worker", "--processes", "1", "--threads", "2"], env, worker_log))
        wait_for_port(port, api_proc, api_log)
        api = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=120,
                                               headers={"Authorization": f"Bearer {TOKEN}"}))

        export_once(api, "tgz")  # warm-up: worker imports, page cache, connections
        sitk_out = base / "sitk"
        sitk_out.mkdir()
        timings: dict[str, list[float]] = {"tgz": [], "zip": [], "simpleitk": []}
        cpu: dict[str, list[float]] = {"tgz": [], "zip": [], "simpleitk": []}
        # the API's and the worker's processes: the CPU an export costs, whatever else the machine runs
        serving = [api_proc.pid, *descendants(api_proc.pid), *descendants(worker.pid)]
        for _ in range(args.runs):
            wall, used = simpleitk_once(dicom_dir / SERIES_UID, sitk_out)
            timings["simpleitk"].append(wall)
            cpu["simpleitk"].append(used)
            for compression_format in ("tgz", "zip"):
                before = cpu_seconds(serving)
                timings[compression_format].append(export_once(api, compression_format))
                cpu[compression_format].append(cpu_seconds(serving) - before)
        sizes = sorted(p.stat().st_size for p in (data / "downloads").iterdir())
        peaks = {pid: peak_rss_mb(pid) for pid in descendants(worker.pid)}

    median = {name: statistics.median(values) for name, values in timings.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    print(f"runs: {args.runs} (medians; all wall times: " + ", ".join(
        f"{name} {' '.join(f'{v:.2f}' for v in values)}" for name, values in timings.items()) + ")")
    print(f"SimpleITK read + WriteImage(.mhd), volume only : {median['simpleitk']:.2f} s "
          f"(CPU {median_cpu['simpleitk']:.2f} s)")
    for name in ("tgz", "zip"):
        print(f"export-mhd {name} (volume + 2 labels), API + task : {median[name]:.2f} s "
              f"(CPU {median_cpu[name]:.2f} s)   ratio {median[name] / median['simpleitk']:.2f}x"
              + (f" (target <= {RATIO_TARGET}x)" if name == "tgz" else "")
              + f", CPU ratio {median_cpu[name] / median_cpu['simpleitk']:.2f}x")
    print(f"archive sizes: {', '.join(f'{s / 1e6:.1f} MB' for s in sizes[:1] + sizes[-1:])} (smallest, largest)")
    worst = max(peaks.values(), default=0.0)
    print(f"worker peak RSS (VmHWM): {worst:.0f} MB (target < {MEMORY_TARGET_MB} MB; per process: "
          + ", ".join(f"{mb:.0f}" for mb in sorted(peaks.values())) + ")")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
