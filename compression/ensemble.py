"""Add an ensemble variant to a model directory: exported members run side by side in one ONNX graph, emissions and
CRF scores averaged, reading the model directory's inputs (a member with a smaller vocabulary reads it through an id
table in the graph; lexicons must match).

python -m compression.ensemble models/msra-base models/msra-base runs/m1 runs/m2 --default
python -m compression.ensemble models/multi-base models/multi-base:int8-emb4 runs/t2:int8-emb4 \
    models/multi-base:student --name ensemble
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .data import DEFAULT_DATA
from .ensemble_graph import MemberSpec, add_ensemble_variant, prefer_if_better


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path,
                    help="model directory that receives the variant (whose inputs every member reads)")
    ap.add_argument("members", nargs="+",
                    help="exported member directories, DIR (runs --variant of each) or DIR:VARIANT")
    ap.add_argument("--variant", action="append",
                    help="member variant to combine where a member names none (repeatable: one ensemble-VARIANT each; "
                         "default int8-emb4)")
    ap.add_argument("--name", help="the variant's name, when every member names its own variant")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with dev.txt/test.txt to score on")
    ap.add_argument("--no-eval", action="store_true")
    ap.add_argument("--test", action="store_true",
                    help="also score the reserved test split (only for the model being shipped)")
    ap.add_argument("--default", action="store_true",
                    help="serve the ensemble variant with the best dev F1 if it beats the current default on dev")
    args = ap.parse_args(argv)
    data = None if args.no_eval else args.data
    names = []
    if args.name:
        if args.variant:
            ap.error("--name builds one ensemble of the members as given; leave out --variant")
        specs = [MemberSpec.parse(m, "") for m in args.members]
        if not all(s.variant for s in specs):
            ap.error("with --name every member is DIR:VARIANT")
        names.append(add_ensemble_variant(args.out, specs, args.name, data, args.test))
    for v in ([] if args.name else args.variant or ["int8-emb4"]):
        names.append(add_ensemble_variant(args.out, [MemberSpec.parse(m, v) for m in args.members], f"ensemble-{v}",
                                          data, args.test))
    if args.default:
        prefer_if_better(args.out, names)


if __name__ == "__main__":
    main()
