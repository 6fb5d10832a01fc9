"""Heavy jobs (Bulk files, live benchmarks): admitted one at a time, run in a child process with a time budget.

A child process keeps a long job from holding the server's interpreter (the GIL) or its memory, runs at a lower
CPU priority than the requests people wait on, and can be stopped when it overruns; the gate turns extra jobs
away at once (one per visitor, a few waiting in all), so a single visitor cannot fill the queue for everyone.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("raner.webapp")


class JobRefused(RuntimeError):
    """A job that was not run (busy, too slow, or it failed): the message is for the visitor."""


class Gate:
    """At most one heavy job runs; at most ``max_waiting`` wait for it; a visitor holds at most one of either."""

    def __init__(self, max_waiting: int = 2):
        self.max_waiting = max_waiting
        self._run = threading.Lock()
        self._state = threading.Lock()
        self._waiting = 0
        self._visitors: set[str] = set()

    @contextmanager
    def admit(self, visitor: str, what: str) -> Iterator[None]:
        """Hold the job slot for the ``with`` block; JobRefused at once when the visitor or the queue is full."""
        with self._state:
            if visitor in self._visitors:
                raise JobRefused(f"you already have a {what} running or waiting; wait for it to finish")
            if self._waiting >= self.max_waiting:
                raise JobRefused(f"the server is busy with other long jobs; try the {what} again in a minute")
            self._visitors.add(visitor)
            self._waiting += 1
        try:
            with self._run:
                with self._state:
                    self._waiting -= 1
                yield
        finally:
            with self._state:
                self._visitors.discard(visitor)


def run_isolated(task: str, args: dict, seconds: float, what: str) -> Any:
    """Run ``webapp.tasks.<task>(**args)`` in a fresh, lower-priority Python; its JSON result, or JobRefused.

    A fresh interpreter (``python -m webapp.worker``) imports only the runtime, not the web stack, and is
    killed when it overruns ``seconds``. Errors a visitor can act on come back with their message; others are
    logged here in one line and reported as a server failure.
    """
    cmd = [sys.executable, "-m", "webapp.worker"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env=env, preexec_fn=_lower_priority if os.name == "posix" else None)
    try:
        out, err = proc.communicate(json.dumps({"task": task, "args": args}).encode("utf-8"), timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise JobRefused(f"the {what} took longer than {seconds:.0f} s and was stopped; try a smaller input") from None
    try:
        reply = json.loads(out.decode("utf-8").strip().splitlines()[-1])
    except (ValueError, IndexError):
        last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        log.error("%s: the worker process ended with code %s: %s", what, proc.returncode, last[0][:300])
        raise JobRefused(f"the {what} failed on the server; the error was logged") from None
    if "error" in reply:
        kind, message = reply["error"]
        if kind in VISITOR_ERRORS:
            raise JobRefused(message)
        log.error("%s failed in the worker process: %s: %s", what, kind, message[:300])
        raise JobRefused(f"the {what} failed on the server ({kind}); the error was logged")
    return reply["ok"]


def _lower_priority() -> None:
    os.nice(10)  # the requests people wait on come first


# Exceptions whose message is about the visitor's own input (limits, unreadable files, bad requests).
VISITOR_ERRORS = ("ValueError", "LimitExceeded", "UnicodeDecodeError", "RequestError", "UnknownVariantError")
ROOT = Path(__file__).resolve().parent.parent
