"""Shared fixtures: paths, the shipped model, a tiny corpus built from the project's own sample sentences."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from raner import DEFAULT_MODEL
from raner.markup import read_marked_file
from raner.spans import spans_to_tags

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = DEFAULT_MODEL
MSRA = ROOT.parent / "shared" / "data" / "msra"


def run_graph(path: Path, feeds: dict) -> np.ndarray:
    """The first output of an ONNX file on the inputs it reads out of ``feeds``."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {i.name: feeds[i.name] for i in sess.get_inputs()})[0]


def write_conll(path: Path, items) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for text, ents in items:
            tags = spans_to_tags([(e.type, e.start, e.end) for e in ents], len(text))
            for ch, tag in zip(text, tags):
                f.write(f"{ch}\t{tag}\n")
            f.write("\n")


# Fixtures that start the app in a process of its own (about 10 s, and more on a busy machine): a test using one is
# in the slow lane whether or not it says so.
STARTS_THE_APP = {"server"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if STARTS_THE_APP & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def module_marks(path: Path) -> set[str]:
    """The marks of a test file's ``pytestmark = pytest.mark.X`` (or a list of them), read without importing it."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            values = node.value.elts if isinstance(node.value, (ast.List, ast.Tuple)) else [node.value]
            return {v.attr for v in values if isinstance(v, ast.Attribute)}
    return set()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Skip importing a test file whose module-level marks the ``-m`` expression deselects: its imports (torch,
    transformers, gradio) would otherwise be most of the fast lane's time."""
    expression = config.getoption("markexpr")
    if not expression or collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    marks = module_marks(collection_path)
    if not marks:
        return None
    try:
        selected = eval(expression, {"__builtins__": {}}, defaultdict(bool, dict.fromkeys(marks, True)))
    except Exception:  # an expression beyond and/or/not: let pytest itself decide, test by test
        return None
    return True if not selected else None


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
