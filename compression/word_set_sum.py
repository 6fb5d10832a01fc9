"""The SoftLexicon word-set sum of an exported graph as one Gather per set slot and a Sum.

The Tagger averages the embeddings of each character's B/M/E/S word sets: ``words.sum(3)`` over ``[B, T, 4, K, D]``
exports as a ReduceSum over an inner axis, which ONNX Runtime runs about 20 µs slower a 50-character sentence than
``K`` Gathers of one slot each and a Sum of them (6% of the student network). The sum is the same, its terms in the
same order, so the numbers are too.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .graph_edit import replace_nodes

WORD_SETS_INPUT = "lexwords"  # [batch, time, 4 positions, K words]
SET_AXIS = 3


def split_word_set_sum(model: onnx.ModelProto) -> int:
    """Rewrite in place each ReduceSum over the set axis of the embedded ``lexwords``; returns how many (0 for a
    graph without word sets, or one already rewritten)."""
    g = model.graph
    sets = next((i for i in g.input if i.name == WORD_SETS_INPUT), None)
    if sets is None:
        return 0
    size = sets.type.tensor_type.shape.dim[SET_AXIS].dim_value if len(sets.type.tensor_type.shape.dim) > SET_AXIS else 0
    if size < 1:
        raise ValueError(f"{WORD_SETS_INPUT} has no fixed set size on axis {SET_AXIS}; not the Tagger's graph")
    producer = {o: n for n in g.node for o in n.output}
    weights = {i.name: i for i in g.initializer}

    def constant(name: str) -> np.ndarray | None:
        """A weight's or a Constant node's value (read only when asked: the tables are most of the file)."""
        if name in weights:
            return numpy_helper.to_array(weights[name])
        node = producer.get(name)
        if node is not None and node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            return numpy_helper.to_array(node.attribute[0].t)
        return None

    nodes, rewritten = list(g.node), 0
    for node in list(nodes):
        if node.op_type != "ReduceSum" or not _embeds(producer.get(node.input[0]), producer):
            continue
        settings = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        axes = settings.get("axes")
        if axes is None and len(node.input) > 1:
            axes = constant(node.input[1])
        if axes is None or [int(a) for a in np.atleast_1d(axes)] not in ([SET_AXIS], [SET_AXIS - 5]):
            continue
        if settings.get("keepdims", 1) != 0:
            raise ValueError(f"{node.name} keeps the set axis; the Tagger's word-set sum drops it")
        prefix = f"/word_sets/{rewritten}"
        parts, new = [], []
        for slot in range(size):
            index = numpy_helper.from_array(np.array(slot, dtype=np.int64), f"{prefix}/slot{slot}")
            g.initializer.append(index)
            parts.append(f"{prefix}/word{slot}")
            new.append(helper.make_node("Gather", [node.input[0], index.name], [parts[-1]], axis=SET_AXIS,
                                        name=f"{prefix}/Gather{slot}"))
        new.append(helper.make_node("Sum", parts, [node.output[0]], name=f"{prefix}/Sum"))
        at = nodes.index(node)
        nodes[at : at + 1] = new
        rewritten += 1
    if rewritten:
        replace_nodes(g, nodes)
    return rewritten


def _embeds(node: onnx.NodeProto | None, producer: dict[str, onnx.NodeProto]) -> bool:
    """Whether ``node`` looks the word sets up in an embedding table along its rows (float, 4-bit blocks, or int8 then
    dequantized): the output is then ``[B, T, 4, K, D]``, its set axis 3."""
    if node is not None and node.op_type == "DequantizeLinear":
        node = producer.get(node.input[0])
    if node is None or node.op_type not in ("Gather", "GatherBlockQuantized") or len(node.input) < 2:
        return False
    settings = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    axis = settings.get("gather_axis" if node.op_type == "GatherBlockQuantized" else "axis", 0)
    return node.input[1] == WORD_SETS_INPUT and axis == 0
