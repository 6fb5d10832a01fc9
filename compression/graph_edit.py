"""Editing an exported ONNX graph: rewrite a file in place, drop the nodes and the weights nothing reads."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import onnx


def rewrite_file(path: str | Path, *rewrites: Callable[[onnx.ModelProto], int]) -> list[int]:
    """Apply each rewrite (it edits the model in place and says how many places it changed) to an ONNX file, loaded
    and saved once; the file is written only when something changed."""
    model = onnx.load(str(path))
    done = [rewrite(model) for rewrite in rewrites]
    if any(done):
        onnx.save(model, str(path))
    return done


def _live_nodes(nodes: list[onnx.NodeProto], outputs: set[str]) -> list[onnx.NodeProto]:
    """``nodes`` without those whose outputs nothing reads (repeated until none is left)."""
    while True:
        used = {i for n in nodes for i in n.input} | outputs
        kept = [n for n in nodes if any(o in used for o in n.output)]
        if len(kept) == len(nodes):
            return kept
        nodes = kept


def replace_nodes(g: onnx.GraphProto, nodes: list[onnx.NodeProto]) -> None:
    """Give ``g`` these nodes (dead ones dropped) and only the initializers they read."""
    nodes = _live_nodes(nodes, {o.name for o in g.output})
    used = {i for n in nodes for i in n.input}
    weights = [w for w in g.initializer if w.name in used]
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(weights)
