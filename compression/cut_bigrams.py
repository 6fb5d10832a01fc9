"""Cut an exported run's bigram table to the bigrams seen at least N times in training: a new run whose fp32 network is
the same in every other weight, scored on dev. Rare bigram rows are much of the float network's bytes and little of
its accuracy (docs/COMPRESSION.md): the shipped fp32, the compression tab's reference, is cut so that the Space bundle
fits its budget.

python -m compression.cut_bigrams runs/multi runs/multi-cut --min-count 3 --data build/data/multi
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .data import read_conll
from .model_dir import score_variants
from .pruning import bigram_counts, cut_bigram_table


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="exported run directory (its fp32 variant and bigrams.txt)")
    ap.add_argument("out", type=Path, help="run directory to write")
    ap.add_argument("--min-count", type=int, default=3, help="keep the bigrams seen at least this often in train.txt")
    ap.add_argument("--data", type=Path, required=True, help="folder with train.txt (the counts) and dev.txt")
    args = ap.parse_args(argv)
    counts = bigram_counts([s.text for s in read_conll(args.data / "train.txt")])
    before, after = cut_bigram_table(args.source, args.out, counts, args.min_count)
    print(f"bigram rows {before:,} -> {after:,}")
    score_variants(args.out, args.data, ["fp32"])


if __name__ == "__main__":
    main()
