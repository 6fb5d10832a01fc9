"""One bidirectional LSTM node in place of the tagger's two one-way LSTMs in an exported graph.

The Tagger runs its backward LSTM as a forward one over each sentence reversed within its length (plain torch ops
that export for padded batches), so the graph holds two LSTM nodes and some thirty small operators that reverse the
input and the output. ONNX's LSTM does the same with ``direction="bidirectional"`` and ``sequence_lens``: one node,
the same weights (stacked per direction, their int8 scales too), the same numbers at every real position, and
ONNX Runtime spends about 15% less time on the student network. Runs on float (``LSTM``) and dynamically quantized
(``DynamicQuantizeLSTM``) graphs alike, so every variant is fused after it is made.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .graph_edit import replace_nodes

LSTM_OPS = ("LSTM", "DynamicQuantizeLSTM")
# The stacked inputs by index: ONNX LSTM's W, R, B (named by index, as in the files shipped on 2026-12-03, which
# compression.recover reads), then DynamicQuantizeLSTM's scales and zero points (named so that
# compression.onnx_info's parameter count skips them, as it skips the quantizer's own)
STACKED = {1: "input1", 2: "input2", 3: "input3", 8: "W_scale", 9: "W_zero_point", 10: "R_scale", 11: "R_zero_point"}
LENGTHS_INPUT = "lengths"
PREFIX = "bilstm"
FUSED_LSTM = f"/{PREFIX}/LSTM"  # the fused node's name: how a fused graph is recognised


def fuse_bilstm(model: onnx.ModelProto) -> int:
    """Fuse the ``/fwd/`` and ``/bwd/`` LSTM pair of ``model`` in place; returns how many pairs were fused (0 or 1:
    a graph already fused, or without the pair, is left as it is)."""
    g = model.graph
    by_scope = {n.name.split("/")[1]: n for n in g.node
                if n.op_type in LSTM_OPS and n.name.startswith(("/fwd/", "/bwd/"))}
    if set(by_scope) != {"fwd", "bwd"} or LENGTHS_INPUT not in {i.name for i in g.input}:
        return 0
    fwd, bwd = by_scope["fwd"], by_scope["bwd"]
    settings = _attributes(fwd)
    if (fwd.op_type != bwd.op_type or settings != _attributes(bwd) or set(settings) - {"hidden_size", "direction"}
            or settings.get("direction", "forward") != "forward"):
        raise ValueError("the /fwd/ and /bwd/ LSTMs differ in kind or have settings other than hidden_size; this "
                         "graph is not the Tagger's")
    producer = {o: n for n in g.node for o in n.output}
    join = _joining_concat(g, producer, fwd, bwd)
    weights = {i.name: i for i in g.initializer}
    for n in (fwd, bwd):
        extra = [n.input[i] for i in (4, 7) if len(n.input) > i and n.input[i]]
        if extra or any(n.input[i] and n.input[i] not in weights for i in (1, 2, 3)):
            raise ValueError(f"{n.name} has sequence lengths, peepholes or computed weights; not the Tagger's LSTM")
        if not all(_is_zeros(producer.get(n.input[i])) for i in (5, 6) if len(n.input) > i and n.input[i]):
            raise ValueError(f"{n.name} starts from states that are not zeros; the fused LSTM would start from zeros")

    def stacked(index: int) -> str:
        name = f"{PREFIX}.{STACKED[index]}"
        both = [numpy_helper.to_array(weights[n.input[index]]) for n in (fwd, bwd)]
        g.initializer.append(numpy_helper.from_array(np.concatenate(both, axis=0), name))
        return name

    inputs = [fwd.input[0], stacked(1), stacked(2), stacked(3) if fwd.input[3] else "", f"{PREFIX}.lengths",
              "", "", ""]
    if fwd.op_type == "DynamicQuantizeLSTM":
        inputs += [stacked(i) for i in (8, 9, 10, 11)]
    width = 2 * int(settings["hidden_size"])  # a fixed last axis: T = 0 reshapes too
    shape = numpy_helper.from_array(np.array([0, 0, width], dtype=np.int64), f"{PREFIX}.shape")
    g.initializer.append(shape)
    fused = [
        helper.make_node("Cast", [LENGTHS_INPUT], [f"{PREFIX}.lengths"], to=TensorProto.INT32, name=f"/{PREFIX}/Cast"),
        helper.make_node(fwd.op_type, inputs, [f"{PREFIX}.y"], name=FUSED_LSTM, domain=fwd.domain,
                         **{**settings, "direction": "bidirectional"}),
        # y [T, 2, B, H] -> [B, T, 2, H] -> [B, T, 2H]: forward states first, as the Concat it replaces
        helper.make_node("Transpose", [f"{PREFIX}.y"], [f"{PREFIX}.y_bt"], perm=[2, 0, 1, 3],
                         name=f"/{PREFIX}/Transpose"),
        helper.make_node("Reshape", [f"{PREFIX}.y_bt", shape.name], [join.output[0]], name=f"/{PREFIX}/Reshape"),
    ]
    nodes = list(g.node)
    at = nodes.index(join)
    nodes[at : at + 1] = fused
    replace_nodes(g, nodes)
    return 1


def _attributes(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _is_zeros(node: onnx.NodeProto | None) -> bool:
    """Whether a state input is ``ConstantOfShape`` of a zero (or default) value: the exporter's zero state."""
    if node is None or node.op_type != "ConstantOfShape":
        return False
    value = next((a for a in node.attribute if a.name == "value"), None)
    return value is None or not np.any(numpy_helper.to_array(value.t))


def _joining_concat(g: onnx.GraphProto, producer: dict[str, onnx.NodeProto], fwd: onnx.NodeProto,
                    bwd: onnx.NodeProto) -> onnx.NodeProto:
    """The Concat that puts the forward states before the re-reversed backward ones (``producer``: output -> node)."""

    def reaches(name: str, source: onnx.NodeProto, depth: int = 6) -> bool:
        node = producer.get(name)
        if node is None or depth == 0:
            return False
        return node is source or reaches(node.input[0], source, depth - 1) if node.input else node is source

    joins = [n for n in g.node if n.op_type == "Concat" and len(n.input) == 2
             and reaches(n.input[0], fwd) and reaches(n.input[1], bwd)]
    if len(joins) != 1:
        raise ValueError(f"expected one Concat joining the /fwd/ and /bwd/ LSTM states, found {len(joins)}")
    if _attributes(joins[0]).get("axis") not in (2, -1):
        raise ValueError("the Concat joining the LSTM states is not on the feature axis; not the Tagger's graph")
    return joins[0]
