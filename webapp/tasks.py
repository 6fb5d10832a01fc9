"""The heavy jobs themselves, as plain functions of JSON-able arguments (run by ``webapp.worker`` in a child)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import raner
from raner.annotate import Budget, annotate
from raner.benchmark import agreement, machine_info


def bulk(src: str, out: str, fmt: str, column: str, model: str, variant: str, threads: int, budget: dict) -> dict:
    """Annotate one uploaded file into ``out`` (one format); the job's figures and its skipped rows."""
    rec = raner.load(model, variant, threads=threads, cache_size=0, scores=True)
    return annotate(Path(src), {fmt: Path(out)}, recognizer=rec, column=column, progress=False, budget=Budget(**budget))


def benchmark(model: str, texts: list[str], repeats: int, threads: int) -> dict:
    """Time every variant side by side, one text per call as the app calls (round-robin, so machine noise hits all
    alike; result caches off), and their agreement with the float32 reference."""
    base = raner.load(model, threads=threads, cache_size=0, scores=True)
    recognizers = {v: base if v == base.variant else base.with_variant(v) for v in base.variants}
    samples: dict[str, list[float]] = {v: [] for v in recognizers}
    for r in range(repeats + 2):  # two warm-up passes
        for v, rec in recognizers.items():
            for text in texts:
                t0 = time.perf_counter()
                rec.predict(text)
                if r >= 2:
                    samples[v].append((time.perf_counter() - t0) * 1000)
    chars = sum(map(len, texts))
    reference = recognizers.get("fp32") or recognizers[base.variants[-1]]
    results = []
    for v, ms in samples.items():
        agree = agreement(reference, recognizers[v], texts)
        results.append({"variant": v, "median_ms": round(float(np.median(ms)), 3),
                        "p95_ms": round(float(np.percentile(ms, 95)), 3),
                        "chars_per_s": round(chars * repeats / (sum(ms) / 1000)) if sum(ms) else None,
                        "agreement": agree["agreement"], "differences": agree["differences"]})
    return {"reference": reference.variant, "results": results, "machine": machine_info()}
