"""Child-process entry for heavy jobs: one JSON request on stdin, one JSON line on stdout (see webapp.jobs)."""
from __future__ import annotations

import json
import sys

from webapp import tasks


def main() -> int:
    request = json.loads(sys.stdin.read())
    try:
        result = getattr(tasks, request["task"])(**request["args"])
        reply = {"ok": result}
    except Exception as e:  # reported to the parent, which decides what the visitor sees and logs the rest
        reply = {"error": [type(e).__name__, str(e)]}
    sys.stdout.write(json.dumps(reply, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
