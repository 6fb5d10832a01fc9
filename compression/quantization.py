"""Quantized variants: ONNX Runtime's dynamic INT8 (weights int8, activations quantized on the fly), and
optionally 4-bit block-quantized embedding tables (ONNX Runtime's ``GatherBlockQuantized`` contrib op)."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

from raner.manifest import read_manifest, register_variant

from .model_dir import measured_variant, score_variants
from .onnx_info import PACKED_4BIT_SUFFIX, op_counts

QUANTIZED_OPS = ("MatMul", "LSTM", "Gather")


def quantize(src: str | Path, dst: str | Path, per_channel: bool = False, table_bits: int = 8,
             block_size: int = 32, min_rows: int = 10000) -> dict:
    """Quantize MatMul, LSTM and embedding Gather weights to int8; returns what changed.

    ``table_bits=4`` first stores every embedding table of at least ``min_rows`` rows in 4 bits (a scale and a
    zero point per ``block_size`` values of a row): the word-level tables (bigrams, lexicon words) that are most
    of our models. The character tables stay int8: in 4 bits, LAC's (which feeds its GRUs) pulled the shipped
    model's agreement with fp32 below 99% (98.9%; 99.04% with it in int8)."""
    src, dst = Path(src), Path(dst)
    with tempfile.TemporaryDirectory() as tmp:
        source = src
        if table_bits == 4:
            source = Path(tmp) / "tables4.onnx"
            # types inferred before the swap: ONNX's shape inference cannot see through the contrib op, and the
            # quantizer leaves ops with untyped inputs (the LSTMs) in float otherwise
            typed = onnx.shape_inference.infer_shapes(onnx.load(str(src)))
            onnx.save(block_quantize_tables(typed, block_size, min_rows), str(source))
        elif table_bits != 8:
            raise ValueError(f"table_bits must be 8 or 4, not {table_bits}")
        quantize_dynamic(str(source), str(dst), op_types_to_quantize=list(QUANTIZED_OPS), per_channel=per_channel,
                         weight_type=QuantType.QInt8)
    if table_bits == 4:  # the compact variant also stores what stays float (LAC's GRUs) in half precision
        onnx.save(store_float16(onnx.load(str(dst)), ("GRU",)), str(dst))
    before, after = op_counts(src), op_counts(dst)
    return {"ops_before": before, "ops_after": after, "per_channel": per_channel, "table_bits": table_bits}


def store_float16(model: onnx.ModelProto, op_types: tuple[str, ...]) -> onnx.ModelProto:
    """Store the float weights of ``op_types`` nodes as float16, cast back to float32 when the session loads
    (ONNX Runtime folds the Cast once): half the bytes on disk, the same float kernels at run time."""
    inits = {i.name: i for i in model.graph.initializer}
    casts, done = [], set()
    for node in model.graph.node:
        if node.op_type not in op_types:
            continue
        for name in node.input:
            init = inits.get(name)
            if init is None or name in done or init.data_type != onnx.TensorProto.FLOAT:
                continue
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), name + "_fp16")
            model.graph.initializer.remove(init)
            model.graph.initializer.append(half)
            casts.append(helper.make_node("Cast", [half.name], [name], name=name + "_to_float",
                                          to=onnx.TensorProto.FLOAT))
            done.add(name)
    nodes = casts + list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def quantize_rows_4bit(table: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric 4-bit codes per block of ``block_size`` values along each row: (codes, scales, zero points),
    with ``value ~ (code - zero_point) * scale``; codes and zero points are unpacked uint8 in 0..15."""
    rows, cols = table.shape
    blocks = table.reshape(rows, cols // block_size, block_size).astype(np.float32)
    lo, hi = np.minimum(blocks.min(-1), 0), np.maximum(blocks.max(-1), 0)  # zero stays exact (padding rows)
    scale = (hi - lo) / 15
    scale[scale == 0] = 1.0
    zero = np.clip(np.round(-lo / scale), 0, 15)
    codes = np.clip(np.round(blocks / scale[..., None]) + zero[..., None], 0, 15)
    return codes.reshape(rows, cols).astype(np.uint8), scale.astype(np.float32), zero.astype(np.uint8)


def pack_4bit(codes: np.ndarray) -> np.ndarray:
    """Two 4-bit codes a byte, the first in the low nibble (the layout GatherBlockQuantized reads)."""
    return (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)


def block_quantize_tables(model: onnx.ModelProto, block_size: int = 32, min_rows: int = 10000) -> onnx.ModelProto:
    """Replace each ``Gather`` from a float table of at least ``min_rows`` rows by ``GatherBlockQuantized``."""
    inits = {i.name: i for i in model.graph.initializer}
    users: dict[str, int] = {}
    for node in model.graph.node:
        for name in node.input:
            users[name] = users.get(name, 0) + 1
    replaced: set[str] = set()
    for node in model.graph.node:
        if node.op_type != "Gather" or node.input[0] not in inits or users[node.input[0]] != 1:
            continue
        init = inits[node.input[0]]
        if len(init.dims) != 2 or init.dims[0] < min_rows or init.dims[1] % block_size or block_size % 2:
            continue
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        if axis != 0:
            continue
        codes, scales, zeros = quantize_rows_4bit(numpy_helper.to_array(init), block_size)
        if zeros.shape[1] % 2:  # zero points are packed two a byte as well
            zeros = np.concatenate([zeros, np.zeros((zeros.shape[0], 1), np.uint8)], 1)
        name = init.name
        model.graph.initializer.extend([
            numpy_helper.from_array(pack_4bit(codes), name + PACKED_4BIT_SUFFIX),
            numpy_helper.from_array(scales, name + "_q4_scale"),
            numpy_helper.from_array(pack_4bit(zeros), name + "_q4_zero_point"),
        ])
        new = helper.make_node("GatherBlockQuantized", [name + PACKED_4BIT_SUFFIX, node.input[1], name + "_q4_scale",
                               name + "_q4_zero_point"], list(node.output), name=(node.name or name) + "_q4",
                               domain="com.microsoft", gather_axis=0, quantize_axis=1, block_size=block_size, bits=4)
        node.CopyFrom(new)
        replaced.add(name)
    kept = [i for i in model.graph.initializer if i.name not in replaced]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    if replaced and not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def add_emb4_variant(out: Path, base: str, data: Path | None, block_size: int = 32) -> str:
    """Write ``<base>-int8-emb4`` (``int8-emb4`` from fp32): ``base``'s network with int8 weights and 4-bit embedding
    tables, registered and scored like the other variants (it shares ``base``'s vocabularies)."""
    source = read_manifest(out).variants[base]
    name = "int8-emb4" if base == "fp32" else f"{base}-int8-emb4"
    file = f"model.{name}.onnx"
    info = quantize(out / source.file, out / file, table_bits=4, block_size=block_size)
    register_variant(out, measured_variant(
        out, name, file, f"{base}, then dynamic INT8 with the word-level embedding tables (10,000 rows or more: "
        f"bigrams, lexicon words) in 4 bits (blocks of {block_size} values, GatherBlockQuantized) and LAC's GRU "
        "weights stored as float16", inputs=dict(source.inputs or {}), network=source.network, batch_invariant=False))
    print("ops:", info["ops_after"])
    if data is not None:
        score_variants(out, data, [name])
    return name
