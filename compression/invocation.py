"""The command line that ran a build step, as its records keep it: quoted so that it can be run again."""
from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence


def invocation(module: str, argv: Sequence[str] | None = None) -> str:
    """``python -m <module> <arguments>``; ``argv`` as given to ``main`` (None: this process's own arguments)."""
    return f"python -m {module} " + shlex.join(sys.argv[1:] if argv is None else argv)
