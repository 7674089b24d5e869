"""A test plug-in with one behaviour per mode (the image's CMD names it)."""

import json
import os
import socket
import sys
import time

IN, OUT = "/circus/in", "/circus/out"


def write_results(data):
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(data, f)


def attempt(action):
    try:
        action()
        return "ok"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def status_fields():
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError as exc:
        return f"unreadable: {exc}"


def succeed():
    print(json.dumps({"progress": 0.25, "message": "reading"}), flush=True)
    names = sorted(os.listdir(IN))
    header = read(os.path.join(IN, "0.mhd"))
    print("hello from stdout", flush=True)
    print("hello from stderr", file=sys.stderr, flush=True)
    print(json.dumps({"progress": 1.0, "message": "done"}), flush=True)
    os.makedirs(os.path.join(OUT, "sub"))
    with open(os.path.join(OUT, "sub", "more.txt"), "w") as f:
        f.write("more")
    with open(os.path.join(OUT, "data.txt"), "w") as f:
        f.write("data")
    write_results({
        "results": {"lesionCandidates": [{"rank": 1, "confidence": 0.876, "volumeId": 0, "location": [1, 2, 3]}]},
        "metadata": {"displayOptions": [{"volumeId": 0, "window": {"level": -600, "width": 1500}}]},
        "inputs": names,
        "header": header,
    })


def sandbox():
    def write_root():
        with open("/opt/escape", "w") as f:
            f.write("x")

    def write_in():
        with open(os.path.join(IN, "escape"), "w") as f:
            f.write("x")

    def write_tmp():
        with open("/tmp/ok", "w") as f:
            f.write("x")

    status = status_fields()
    write_results({
        "uid": os.getuid(),
        "gid": os.getgid(),
        "root_write": attempt(write_root),
        "in_write": attempt(write_in),
        "tmp_write": attempt(write_tmp),
        "connect": attempt(lambda: socket.create_connection(("1.1.1.1", 53), timeout=2).close()),
        "resolve": attempt(lambda: socket.getaddrinfo("deb.debian.org", 80)),
        "interfaces": sorted(os.listdir("/sys/class/net")),
        "cap_eff": status.get("CapEff"),
        "cap_bnd": status.get("CapBnd"),
        "no_new_privs": status.get("NoNewPrivs"),
        "pids_max": read("/sys/fs/cgroup/pids/pids.max"),
        "memory_limit": read("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
        "cpu_quota": read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
        "in_files": sorted(os.listdir(IN)),
    })


def no_results():
    print("something went wrong", file=sys.stderr)
    sys.exit(5)


def invalid():
    write_results({"results": {"lesionCandidates": [{"volumeId": -1, "location": "here"}]}})


def hang():
    print("sleeping", flush=True)
    time.sleep(600)


def network():
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=3).close()
    except OSError as exc:
        print(f"network unreachable: {exc}", file=sys.stderr)
        sys.exit(3)
    write_results({"reached": True})


def symlink():
    write_results({"results": {}})
    os.symlink("/etc/passwd", os.path.join(OUT, "passwd"))


def oom():
    hog = b"\x01" * (512 * 1024 * 1024)  # filled, so every page is really used
    write_results({"size": len(hog)})


def slow():
    print(json.dumps({"progress": 0.0, "message": "slow start"}), flush=True)
    time.sleep(float(os.environ.get("SLOW_SECONDS", "4")))
    write_results({"results": {}})


MODES = {f.__name__: f for f in (succeed, sandbox, no_results, invalid, hang, network, symlink, oom, slow)}

if __name__ == "__main__":
    MODES[sys.argv[1]]()
