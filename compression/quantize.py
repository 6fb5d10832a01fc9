"""INT8 variants with ONNX Runtime's dynamic quantization (weights int8, activations quantized on the fly)."""
from __future__ import annotations

from pathlib import Path

from onnxruntime.quantization import QuantType, quantize_dynamic

from .onnx_info import op_counts

QUANTIZED_OPS = ("MatMul", "LSTM", "Gather")


def quantize(src: str | Path, dst: str | Path, per_channel: bool = False) -> dict:
    """Quantize MatMul, LSTM and embedding Gather weights to int8; returns what changed."""
    quantize_dynamic(str(src), str(dst), op_types_to_quantize=list(QUANTIZED_OPS), per_channel=per_channel,
                     weight_type=QuantType.QInt8)
    before, after = op_counts(src), op_counts(dst)
    return {"ops_before": before, "ops_after": after, "per_channel": per_channel}
