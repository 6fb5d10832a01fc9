"""Shared fixtures: paths, the shipped model, a tiny corpus built from the project's own sample sentences."""
from __future__ import annotations

from pathlib import Path

import pytest

from raner.markup import read_marked_file
from raner.spans import spans_to_tags

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "models" / "msra-base"
MSRA = ROOT.parent / "shared" / "data" / "msra"


def write_conll(path: Path, items) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for text, ents in items:
            tags = spans_to_tags([(e.type, e.start, e.end) for e in ents], len(text))
            for ch, tag in zip(text, tags):
                f.write(f"{ch}\t{tag}\n")
            f.write("\n")


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """train/dev/test.txt in CoNLL form from samples/news.txt (no external data needed)."""
    d = tmp_path_factory.mktemp("corpus")
    items = [(t, e) for t, e in read_marked_file(ROOT / "samples" / "news.txt") if " " not in t]
    for name in ("train", "dev", "test"):
        write_conll(d / f"{name}.txt", items)
    return d


@pytest.fixture(scope="session")
def msra() -> Path:
    if not (MSRA / "test.txt").is_file():
        pytest.skip(f"MSRA data not found at {MSRA} (the shared data folder is absent)")
    return MSRA


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The app started with `python app.py` on a free loopback port; yields its base URL."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False")
    # a file: a pipe nobody reads could fill up
    log = open(tmp_path_factory.mktemp("server") / "app.log", "w+", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError("app.py exited early:\n" + log.read())
        try:
            urllib.request.urlopen(url + "/api/health", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("app.py did not answer within 90 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
