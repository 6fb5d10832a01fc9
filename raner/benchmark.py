"""Side-by-side timing and agreement of a model's variants on the same texts (used by the app and the build)."""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .recognizer import Recognizer


@dataclass(frozen=True)
class Timing:
    """Latency of one variant over a set of texts: milliseconds per call of ``predict_batch(texts)``."""

    variant: str
    median_ms: float
    p95_ms: float
    mean_ms: float
    repeats: int
    chars: int

    def to_dict(self) -> dict:
        return asdict(self)


def time_variants(recognizers: Mapping[str, Recognizer], texts: Sequence[str], repeats: int = 50, warmup: int = 5,
                  progress: Callable[[float, str], None] | None = None, block: int = 1) -> list[Timing]:
    """Time every variant on the same texts, interleaved round-robin so machine noise hits all alike.

    ``block`` calls of one variant run in a row before the next variant's: 1 makes each call follow the others'
    (their tables evict its own from the CPU caches); a larger block times each variant as if it ran alone, while
    the blocks still alternate. The recognizers' result caches are bypassed (each call computes), so the numbers are
    the model's.
    """
    if block < 1:
        raise ValueError(f"block must be at least 1, got {block}")
    names = list(recognizers)
    fresh = {n: r.with_options(cache_size=0) for n, r in recognizers.items()}
    for _ in range(warmup):
        for n in names:
            fresh[n].predict_batch(texts)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for start in range(0, repeats, block):
        for n in names:
            for _ in range(min(block, repeats - start)):
                t0 = time.perf_counter()
                fresh[n].predict_batch(texts)
                samples[n].append((time.perf_counter() - t0) * 1000)
        done = min(start + block, repeats)
        if progress and ((start // block) % max(1, repeats // block // 20) == 0 or done == repeats):
            progress(done / repeats, f"repeat {done}/{repeats}")
    chars = sum(len(t) for t in texts)
    return [Timing(n, round(float(np.median(s)), 4), round(float(np.percentile(s, 95)), 4), round(float(np.mean(s)), 4),
                   repeats, chars) for n, s in samples.items()]


def agreement(reference: Recognizer, other: Recognizer, texts: Sequence[str]) -> dict:
    """How far ``other``'s entities match ``reference``'s: F1 of exact (type, start, end) matches, and the
    differences."""
    ref = reference.predict_batch(texts)
    got = other.predict_batch(texts)
    same = n_ref = n_got = 0
    differences = []
    for i, (a, b) in enumerate(zip(ref, got)):
        sa, sb = {(e.type, e.start, e.end, e.text) for e in a}, {(e.type, e.start, e.end, e.text) for e in b}
        same, n_ref, n_got = same + len(sa & sb), n_ref + len(sa), n_got + len(sb)
        for kind, s, e, t in sorted(sa - sb, key=lambda x: x[1]):
            differences.append({"text_index": i, "entity": t, "type": kind, "start": s, "end": e,
                                "only_in": reference.variant})
        for kind, s, e, t in sorted(sb - sa, key=lambda x: x[1]):
            differences.append({"text_index": i, "entity": t, "type": kind, "start": s, "end": e,
                                "only_in": other.variant})
    score = 1.0 if n_ref + n_got == 0 else 2 * same / (n_ref + n_got)
    return {"agreement": round(score, 4), "matched": same, "reference_entities": n_ref, "entities": n_got,
            "differences": differences}


def machine_info() -> dict:
    """CPU model, core count, onnxruntime and Python versions: stated beside every measured number."""
    import os
    import platform

    import onnxruntime

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "onnxruntime": onnxruntime.__version__,
            "python": platform.python_version(), "system": platform.system()}
