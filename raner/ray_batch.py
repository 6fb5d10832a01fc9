"""Scale-out annotation on Ray Data, for corpora that outgrow one machine.

python -m raner.ray_batch INPUT OUTPUT [--variant V] [--concurrency N] [--address auto]

INPUT: .jsonl (``{"text": ...}`` per line), .txt (one document per line) or .parquet (a ``text`` column).
OUTPUT: a .jsonl file (rows in input order, the same lines as ``python -m raner annotate``) or a folder of
Parquet files (any other name). Each Ray worker holds one recognizer (one ONNX session), made once.
Ray is an optional extra (``pip install -r requirements-ray.txt``); nothing else in raner imports it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from . import load


class Annotator:
    """A Ray Data callable class: loads the model once per worker, annotates a batch of texts."""

    def __init__(self, model: str | None = None, variant: str | None = None):
        self.rec = load(model, variant, cache_size=0, scores=True)  # what `python -m raner annotate` writes

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch["text"]]
        found = self.rec.predict_batch(texts)
        rows = [json.dumps([e.to_dict() for e in ents], ensure_ascii=False, separators=(",", ":")) for ents in found]
        batch["entities"] = np.array(rows, dtype=object)
        return batch


def read(path: Path):
    """A Ray dataset with a ``text`` column from .jsonl, .parquet or a plain text file."""
    import ray.data

    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return ray.data.read_json(str(path), lines=True)
    if suffix == ".parquet" or path.is_dir():
        return ray.data.read_parquet(str(path))
    return ray.data.read_text(str(path))


def annotate(src: Path, dst: Path, model: str | None = None, variant: str | None = None, batch_size: int = 256,
             concurrency: int | None = None) -> int:
    """Annotate ``src`` into ``dst`` with ``concurrency`` Ray workers; returns the number of documents.

    Each worker asks Ray for one CPU; by default there is one worker per cluster CPU but one, which is left for
    the tasks that read and split the input (with every CPU held by a worker, reading would wait forever).
    """
    import ray

    if concurrency is None:
        concurrency = max(1, int(ray.cluster_resources().get("CPU", 2)) - 1)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ds = read(src).map_batches(Annotator, fn_constructor_kwargs={"model": model, "variant": variant},
                               batch_size=batch_size, concurrency=concurrency, num_cpus=1, batch_format="numpy")
    if dst.suffix.lower() == ".jsonl":
        n = 0
        with open(dst, "w", encoding="utf-8") as out:
            for row in ds.iter_rows():
                fields = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items() if k != "entities"}
                out.write(json.dumps({**fields, "entities": json.loads(row["entities"])}, ensure_ascii=False,
                                     separators=(",", ":")) + "\n")
                n += 1
        return n
    ds.write_parquet(str(dst))
    return ds.count()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m raner.ray_batch", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--model", default=None)
    ap.add_argument("--variant", default=None)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--concurrency", type=int, default=None,
                    help="Ray workers, each with its own recognizer (default: cluster CPUs - 1)")
    ap.add_argument("--address", default=None,
                    help="Ray cluster address ('auto' joins a running cluster); default: local")
    args = ap.parse_args(argv)
    try:
        import ray
    except ImportError:
        print("error: Ray is not installed; pip install -r requirements-ray.txt", file=sys.stderr)
        return 2
    ray.init(address=args.address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    n = annotate(args.input, args.output, args.model, args.variant, args.batch_size, args.concurrency)
    print(json.dumps({"documents": n, "output": str(args.output)}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
