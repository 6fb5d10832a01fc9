"""Train, export, quantize, prune and benchmark a model directory in one command.

python -m compression.build --data ../shared/data/msra --out models/msra-base [training options]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from . import export, train
from .data import DEFAULT_DATA


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, required=True)
    args, rest = ap.parse_known_args(argv)
    train.main(["--data", str(args.data), "--out", str(args.out), *rest])
    export.main([str(args.out), "--data", str(args.data)])


if __name__ == "__main__":
    main()
