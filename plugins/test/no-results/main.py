"""Test plug-in: logs a little and exits 0 without writing results.json.

The job must fail with `Timeout: File <out>/results.json did not appear within 2000ms`.
"""

import sys

print("no-results: exiting without results on purpose")
print("no-results: this line goes to stderr", file=sys.stderr)
sys.exit(0)
