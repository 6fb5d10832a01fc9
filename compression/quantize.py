"""Add a 4-bit-table variant to a model directory: a float variant's network with int8 weights and its word-level
embedding tables in 4 bits, registered and scored like the others.

python -m compression.quantize models/msra-base --from pruned   # adds pruned-int8-emb4 (--from fp32: int8-emb4)
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .data import DEFAULT_DATA
from .model_dir import choose_default
from .quantization import add_emb4_variant


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="model directory")
    ap.add_argument("--from", dest="base", default="pruned", help="the float variant to quantize (fp32 or pruned)")
    ap.add_argument("--block-size", type=int, default=32)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with dev.txt/test.txt to score on")
    ap.add_argument("--no-eval", action="store_true")
    args = ap.parse_args(argv)
    add_emb4_variant(args.model, args.base, None if args.no_eval else args.data, args.block_size)
    if not args.no_eval:
        print("default variant:", choose_default(args.model))


if __name__ == "__main__":
    main()
