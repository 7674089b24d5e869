"""Test plug-in: allocates (and touches) memory in 64 MiB steps up to 4 GiB.

Under the sandbox's memory limit the kernel kills it (exit 137, OOMKilled). If it ever reaches
the cap, no limit was applied: it says so in results.json.
"""

import json
import sys
from pathlib import Path

STEP = 64 * 1024 * 1024
CAP = 4 * 1024 * 1024 * 1024

out_dir = Path(sys.argv[2] if len(sys.argv) > 2 else "/circus/out")
hoard = []
while len(hoard) * STEP < CAP:
    hoard.append(b"\xff" * STEP)  # bytes filled by memset: every page is really touched
    if len(hoard) % 4 == 0:
        print(json.dumps({"progress": len(hoard) * STEP / CAP, "message": f"{len(hoard) * 64} MiB held"}), flush=True)
document = {"results": {"memoryLimited": False, "allocatedMiB": len(hoard) * 64}}
(out_dir / "results.json").write_text(json.dumps(document), encoding="utf-8")
print("memory-hog: no memory limit stopped me", file=sys.stderr)
