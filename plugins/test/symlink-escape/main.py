"""Test plug-in: leaves symlinks pointing outside its output directory next to a valid
results.json. Copying the output with links followed would copy host files (the job
manager's /etc/passwd, its whole root) into the job's attachments.

The job manager must not follow them: skip or refuse them, never copy their targets.
"""

import json
import os
import sys
from pathlib import Path

out_dir = Path(sys.argv[2] if len(sys.argv) > 2 else "/circus/out")
os.symlink("/etc/passwd", out_dir / "passwd")
os.symlink("/", out_dir / "host-root")
os.symlink("../../../../../../../../etc/hostname", out_dir / "hostname.txt")
(out_dir / "sub").mkdir()
os.symlink("/etc", out_dir / "sub" / "etc")
(out_dir / "results.json").write_text(json.dumps({"results": {"symlinks": 4}}), encoding="utf-8")
print("symlink-escape: wrote 4 symlinks to host paths")
