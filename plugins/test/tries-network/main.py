"""Test plug-in: tries to reach the network and writes what happened into results.json.

In the sandbox (network mode "none") only the loopback interface exists, name resolution
fails and connecting fails at once, so `results.networkReachable` is false. The TCP target is
in TEST-NET-1 (192.0.2.0/24, reserved for documentation), so even an unsandboxed run
contacts no real host.
"""

import json
import os
import socket
import sys
from pathlib import Path

out_dir = Path(sys.argv[2] if len(sys.argv) > 2 else "/circus/out")
attempts = []


def attempt(target: str, action) -> None:
    try:
        action()
        attempts.append({"target": target, "ok": True})
    except OSError as exc:
        attempts.append({"target": target, "ok": False, "error": f"{type(exc).__name__}: {exc}"})


attempt("dns example.com", lambda: socket.getaddrinfo("example.com", 80))
attempt("tcp 192.0.2.1:80", lambda: socket.create_connection(("192.0.2.1", 80), timeout=3).close())
interfaces = sorted(os.listdir("/sys/class/net")) if os.path.isdir("/sys/class/net") else []
reachable = any(a["ok"] for a in attempts)
document = {"results": {"networkReachable": reachable, "interfaces": interfaces, "attempts": attempts}}
(out_dir / "results.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
for a in attempts:
    print(f"tries-network: {a['target']}: {'reached' if a['ok'] else a['error']}")
