"""Export a trained checkpoint to a served model directory: ONNX fp32, int8 and int8-emb4, CRF scores, manifest.

python -m compression.export models/msra-base [--data ../shared/data/msra] [--no-eval]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .data import DEFAULT_DATA
from .model_export import export_model_dir


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="model directory holding checkpoint.pt")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with dev.txt/test.txt to score on")
    ap.add_argument("--no-eval", action="store_true", help="write the variants without scoring them")
    ap.add_argument("--max-length", type=int, default=200, help="characters per network input at run time")
    args = ap.parse_args(argv)
    export_model_dir(args.out, None if args.no_eval else args.data, args.max_length)


if __name__ == "__main__":
    main()
