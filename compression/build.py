"""Train, export, quantize, prune and benchmark a model directory in one command.

python -m compression.build --data ../shared/data/msra --out models/msra-base [--lac build/lac] [training options]

Afterwards: python -m compression.prune models/msra-base ... and python -m compression.benchmark models/msra-base.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from . import export, lac, train
from .data import DEFAULT_DATA


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--lac", type=Path, default=Path("build/lac"), help="LAC folder; downloaded from PyPI there if missing")
    ap.add_argument("--no-lac", action="store_true", help="train without LAC's word embeddings")
    args, rest = ap.parse_known_args(argv)
    lac_args = []
    if not args.no_lac:
        try:
            lac.lac_model_dir(args.lac)
        except FileNotFoundError:
            print(f"LAC not found in {args.lac}; downloading its sdist from PyPI")
            lac.download(args.lac)
        lac_args = ["--lac", str(args.lac)]
    train.main(["--data", str(args.data), "--out", str(args.out), *lac_args, *rest])
    export.main([str(args.out), "--data", str(args.data)])


if __name__ == "__main__":
    main()
