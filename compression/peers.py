"""Peer taggers (Baidu LAC, Jiagu) as entity-span predictors, for the evaluation command only.

The peers live in their own virtualenv (see requirements-peers.txt): each runs in a subprocess of that
venv's python (``--peers-python``, env ``RANER_PEERS_PYTHON``, default /work/peers-venv/bin/python)
executing ``peer_worker.py``, which reads one sentence per JSON line on stdin and answers with the peer's
own tokens and tags. This module turns those into ``(type, start, end)`` spans with character offsets into
the original text, types mapped onto PER/LOC/ORG:

- LAC (mode 'lac'): a token tagged PER, LOC or ORG is one entity; TIME and the part-of-speech tags are
  dropped (its lower-case nr/ns/nt tags are counted in ``notes`` but not mapped).
- Jiagu: B-X/I-X tags over the tokens it was given; an I-X that does not continue an X entity starts one
  (Jiagu now and then tags a name's first token I-X; counted in ``notes``).
- Both: whitespace at an entity's edges is trimmed off (Jiagu tags the space after a name I-PER).

A peer that cannot be started raises PeerUnavailable with a one-line reason; ``start_peers`` reports that
in one line and goes on without it.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

Span = tuple[str, int, int]

DEFAULT_PEERS_PYTHON = Path("/work/peers-venv/bin/python")
WORKER = Path(__file__).resolve().with_name("peer_worker.py")
PEERS = ("lac", "jiagu", "jiagu-chars")
TYPES = ("PER", "LOC", "ORG")
LAC_TYPES = {"PER": "PER", "LOC": "LOC", "ORG": "ORG"}
LAC_UNMAPPED_NAMES = ("nr", "ns", "nt")  # LAC's tag set also lists these; they are not its NER output


class PeerUnavailable(RuntimeError):
    """A peer could not be started or died; the message is one line."""


def peers_python(explicit: str | Path | None = None) -> Path:
    """The peers' interpreter: the explicit path, else $RANER_PEERS_PYTHON, else the default venv."""
    return Path(explicit or os.environ.get("RANER_PEERS_PYTHON") or DEFAULT_PEERS_PYTHON)


def align(text: str, words: Sequence[str]) -> list[tuple[int, int] | None]:
    """Character offsets of each token in ``text``, searched left to right; None for a token not found."""
    out: list[tuple[int, int] | None] = []
    pos = 0
    for w in words:
        i = text.find(w, pos) if w else -1
        if i < 0:
            out.append(None)
            continue
        out.append((i, i + len(w)))
        pos = i + len(w)
    return out


def trim(text: str, start: int, end: int, notes: Counter | None = None) -> tuple[int, int]:
    """The span without whitespace at either end (Jiagu tags a space token after a name I-PER)."""
    a, b = start, end
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if (a, b) != (start, end) and notes is not None:
        notes["whitespace trimmed off an entity's edge"] += 1
    return a, b


def lac_spans(text: str, words: Sequence[str], tags: Sequence[str], notes: Counter | None = None) -> list[Span]:
    """LAC's (words, tags): each PER/LOC/ORG token is one entity."""
    notes = Counter() if notes is None else notes
    spans = []
    for off, tag in zip(align(text, words), tags, strict=True):
        if tag in LAC_UNMAPPED_NAMES:
            notes[f"lac tag {tag} (not mapped)"] += 1
        kind = LAC_TYPES.get(tag)
        if kind is None:
            continue
        if off is None:
            notes["token not found in text"] += 1
            continue
        a, b = trim(text, *off, notes)
        if a < b:
            spans.append((kind, a, b))
    return spans


def bio_token_spans(text: str, words: Sequence[str], tags: Sequence[str], notes: Counter | None = None) -> list[Span]:
    """B-X/I-X tags over tokens (Jiagu) as character spans; a stray I-X starts an entity."""
    notes = Counter() if notes is None else notes
    spans: list[Span] = []
    kind, start, end = "", -1, -1

    def close():
        if start >= 0 and kind in TYPES:
            a, b = trim(text, start, end, notes)
            if a < b:
                spans.append((kind, a, b))

    for off, tag in zip(align(text, words), tags, strict=True):
        prefix, _, cur = tag.partition("-")
        if off is None:
            if prefix in ("B", "I"):
                notes["token not found in text"] += 1
            close()
            kind, start = "", -1
            continue
        if prefix == "I" and start >= 0 and cur == kind and off[0] == end:
            end = off[1]
            continue
        close()
        kind, start = "", -1
        if prefix in ("B", "I") and cur:
            if prefix == "I":
                notes[f"I-{cur} not continuing an entity (started one)"] += 1
            kind, start, end = cur, off[0], off[1]
    close()
    return spans


MAPPERS: dict[str, Callable[..., list[Span]]] = {"lac": lac_spans, "jiagu": bio_token_spans,
                                                 "jiagu-chars": bio_token_spans}


class Peer:
    """One peer in a worker process; ``predict(text)`` sends one sentence and returns its spans."""

    def __init__(self, name: str, python: str | Path | None = None, worker: str | Path = WORKER,
                 start_timeout: float = 300.0):
        if name not in MAPPERS:
            raise PeerUnavailable(f"unknown peer {name!r} (known: {', '.join(PEERS)})")
        self.name, self.python = name, peers_python(python)
        self.notes: Counter = Counter()
        self.errors = 0
        self.last_ms = 0.0
        self.info: dict = {}
        if not self.python.is_file():
            raise PeerUnavailable(f"peers python {self.python} not found (make the venv: see requirements-peers.txt)")
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   GLOG_minloglevel="2", PYTHONIOENCODING="utf-8")
        self._stderr = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen([str(self.python), "-I", "-u", str(worker), name], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=self._stderr, env=env)
        except OSError as e:
            self._stderr.close()
            raise PeerUnavailable(f"cannot run {self.python}: {e}") from None
        ready = self._read(start_timeout)
        if not ready.get("ready"):
            self.close()
            raise PeerUnavailable(ready.get("error") or f"unexpected first line {ready!r}")
        self.info = ready

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        lines = [ln for ln in self._stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        return lines[-1].strip()[:300] if lines else ""

    def _read(self, timeout: float | None = None) -> dict:
        out = self._proc.stdout
        if timeout is not None and not select.select([out], [], [], timeout)[0]:
            self.close()
            raise PeerUnavailable(f"worker gave no answer within {timeout:.0f} s")
        line = out.readline()
        if not line:
            code = self._proc.wait()
            tail = self._stderr_tail()
            self.close()
            raise PeerUnavailable(f"worker exited ({code})" + (f": {tail}" if tail else ""))
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            self.close()
            raise PeerUnavailable(f"worker wrote {line[:80]!r}, not JSON") from None

    @property
    def version(self) -> str:
        return " ".join(f"{k} {v}" for k, v in self.info.get("versions", {}).items())

    def predict(self, text: str) -> list[Span]:
        """Spans of one sentence; ``last_ms`` is the time the peer's own call took."""
        self._proc.stdin.write((json.dumps(text, ensure_ascii=False) + "\n").encode("utf-8"))
        self._proc.stdin.flush()
        reply = self._read()
        if "error" in reply:
            self.errors += 1
            self.notes[f"error: {reply['error']}"] += 1
            self.last_ms = 0.0
            return []
        self.last_ms = float(reply.get("ms", 0.0))
        return MAPPERS[self.name](text, reply["words"], reply["tags"], self.notes)

    def close(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            try:
                proc.stdin.close()
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        if proc is not None and proc.stdout:
            proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def start_peers(names: Sequence[str], python: str | Path | None = None, worker: str | Path = WORKER,
                log: Callable[[str], None] | None = None) -> dict[str, Peer]:
    """Start each named peer; one that cannot start is reported in one line and left out."""
    log = log or (lambda msg: print(msg, file=sys.stderr))
    peers = {}
    for name in names:
        try:
            peers[name] = Peer(name, python, worker)
        except PeerUnavailable as e:
            log(f"skipping peer {name}: {e}")
    return peers


def run_peer(name: str, texts: Sequence[str], python: str | Path | None = None,
             worker: str | Path = WORKER) -> tuple[list[list[Span]], list[float]]:
    """Spans and per-call milliseconds for each text, one sentence per call. Raises PeerUnavailable."""
    with Peer(name, python, worker) as peer:
        spans, ms = [], []
        for t in texts:
            t0 = time.perf_counter()
            spans.append(peer.predict(t))
            ms.append(peer.last_ms or (time.perf_counter() - t0) * 1000)
        return spans, ms
