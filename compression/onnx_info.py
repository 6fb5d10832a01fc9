"""Facts about an ONNX file: parameter count and which operators it uses."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx

PACKED_4BIT_SUFFIX = "_q4"  # initializers holding two 4-bit weights a byte (compression.quantize)


def parameter_count(path: str | Path) -> int:
    """Number of weight values stored in the graph (quantized weights count once; scales, zero points and int64
    constants such as shapes not at all)."""
    model = onnx.load(str(path))
    total = 0
    for init in model.graph.initializer:
        n = int(np.prod(init.dims)) if init.dims else 1
        if n > 1 and init.data_type != onnx.TensorProto.INT64 and not init.name.endswith(("_scale", "_zero_point")):
            total += 2 * n if init.name.endswith(PACKED_4BIT_SUFFIX) else n
    return total


def op_counts(path: str | Path) -> dict[str, int]:
    """How many nodes of each operator type the graph has."""
    return dict(Counter(n.op_type for n in onnx.load(str(path)).graph.node))
