"""Add an ensemble variant to a model directory: exported members run side by side in one ONNX graph, emissions and
CRF scores averaged (members share the model directory's vocabularies).

python -m compression.ensemble models/msra-base models/msra-base runs/m1 runs/m2 --default
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .data import DEFAULT_DATA
from .ensemble_graph import add_ensemble_variant, prefer_if_better


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path,
                    help="model directory that receives the variant (shares the members' vocabularies)")
    ap.add_argument("members", type=Path, nargs="+", help="exported member directories")
    ap.add_argument("--variant", action="append", help="member variant to combine (repeatable; default int8-emb4)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with dev.txt/test.txt to score on")
    ap.add_argument("--no-eval", action="store_true")
    ap.add_argument("--default", action="store_true",
                    help="serve the ensemble variant with the best dev F1 if it beats the current default on dev")
    args = ap.parse_args(argv)
    data = None if args.no_eval else args.data
    names = [add_ensemble_variant(args.out, args.members, v, data) for v in args.variant or ["int8-emb4"]]
    if args.default:
        prefer_if_better(args.out, names)


if __name__ == "__main__":
    main()
