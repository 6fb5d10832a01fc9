"""Runs one peer tagger (Baidu LAC or Jiagu) inside the peers' own virtualenv, one sentence per request.

Started by ``compression.peers`` as ``PEERS_PYTHON -I -u peer_worker.py NAME``; it imports nothing from this
project, so it runs in an interpreter that has only the peer installed. Protocol, JSON lines:

- on start it writes ``{"ready": true, "peer": NAME, "versions": {...}}``, or ``{"error": "..."}`` and exits 1;
- then for each line read from stdin (a JSON string: one sentence) it writes
  ``{"words": [...], "tags": [...], "ms": T}``: the peer's own tokens and tags, unchanged, and the
  milliseconds the peer's call took; or ``{"error": "..."}`` when the peer failed on that sentence.

Mapping tokens and tags onto character spans is left to ``compression.peers`` (tested without the peers).
Peers: ``lac`` (LAC(mode='lac').run(text) -> words, tags), ``jiagu`` (jiagu.seg(text) then
jiagu.ner(words): Jiagu 0.2.3's perceptron tags the words it is given) and ``jiagu-chars`` (jiagu.ner over
single characters, for comparison).
"""
from __future__ import annotations

import json
import os
import sys
import time


def _versions(*dists: str) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for d in dists:
        try:
            out[d] = version(d)
        except PackageNotFoundError:
            pass
    return out


def _load_lac():
    try:
        import paddle.fluid  # noqa: F401  (PaddlePaddle < 2.6)
    except ImportError:
        # PaddlePaddle 2.6 renamed paddle.fluid to paddle.base and kept the old predictor API
        # (AnalysisConfig, create_paddle_predictor, PaddleTensor) there; LAC 2.1.2 imports the old name.
        import paddle
        import paddle.base
        import paddle.base.core

        sys.modules["paddle.fluid"] = paddle.base
        sys.modules["paddle.fluid.core"] = paddle.base.core
        paddle.fluid = paddle.base
    from LAC import LAC

    lac = LAC(mode="lac")

    def tag(text: str):
        words, tags = lac.run(text)
        return list(words), list(tags)

    return tag, _versions("LAC", "paddlepaddle")


def _load_jiagu(chars: bool):
    import jiagu

    def tag(text: str):
        words = list(text) if chars else list(jiagu.seg(text))
        return words, list(jiagu.ner(words))

    return tag, _versions("jiagu")


def load(name: str):
    if name == "lac":
        return _load_lac()
    if name in ("jiagu", "jiagu-chars"):
        return _load_jiagu(name == "jiagu-chars")
    raise ValueError(f"unknown peer {name!r} (lac, jiagu, jiagu-chars)")


def _one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}".replace("\n", " ")[:300]


def main(argv: list[str]) -> int:
    # Whatever the peers print (Python or C code) goes to stderr; stdout carries the protocol only.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(obj) -> None:
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        out.flush()

    if len(argv) != 1:
        send({"error": "usage: peer_worker.py lac|jiagu|jiagu-chars"})
        return 2
    name = argv[0]
    try:
        tag, versions = load(name)
        tag("马云在杭州阿里巴巴总部发表演讲")  # loads lazily-built models before the first timed call
    except BaseException as e:  # noqa: BLE001  (a missing package or a broken install: one line back)
        send({"error": _one_line(e)})
        return 1
    send({"ready": True, "peer": name, "versions": versions, "python": sys.version.split()[0]})
    for line in sys.stdin:
        if not line.strip():
            continue
        text = json.loads(line)
        if not text.strip():
            send({"words": [], "tags": [], "ms": 0.0})
            continue
        t0 = time.perf_counter()
        try:
            words, tags = tag(text)
        except Exception as e:  # noqa: BLE001
            send({"error": _one_line(e)})
            continue
        send({"words": words, "tags": tags, "ms": (time.perf_counter() - t0) * 1000})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
