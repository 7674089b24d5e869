"""Test plug-in: reports some progress, then sleeps forever.

As PID 1 without a handler it ignores SIGTERM, so the job manager must kill it (SIGKILL) when
the timeout is reached, and the job fails with the timeout message.
"""

import json
import time

print(json.dumps({"progress": 0.1, "message": "Pretending to work"}), flush=True)
while True:
    time.sleep(3600)
