"""Test plug-in: writes a results.json that is JSON but breaks the results schema (spec 5.6):
the candidate lacks `confidence` and `volumeId`, `rank` is 0 and `location` is a string.

The job must fail with `Plug-in validation failed: Schema validation error for results.json file.`
"""

import json
import sys
from pathlib import Path

out_dir = Path(sys.argv[2] if len(sys.argv) > 2 else "/circus/out")
document = {"results": {"lesionCandidates": [{"rank": 0, "location": "somewhere"}]}}
(out_dir / "results.json").write_text(json.dumps(document), encoding="utf-8")
print("invalid-results: wrote a results.json that fails validation")
