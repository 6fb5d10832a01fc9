"""Assemble a served model directory from exported runs: the chosen variants of one run, and variants adopted from
others (a distilled student with vocabularies of its own), with nothing else in it.

python -m compression.release runs/multi models/multi-base --variants int8-emb4,fp32 \\
    --adopt runs/student:pruned-int8-emb4=student --describe "student=..." --data build/data/multi

The first of --variants is the default unless --default names another. Each served graph has its two one-way LSTMs
fused into one bidirectional node (compression.bilstm_fusion) and its word-set sum split into one Gather a slot
(compression.word_set_sum): the same tags, less time. --data scores every variant on its dev.txt (with --test, for
the directory that ships, test.txt too) into the manifest; the benchmark is a further step
(python -m compression.benchmark).
"""
from __future__ import annotations

import argparse
import shutil
from dataclasses import replace
from pathlib import Path

from raner.manifest import copy_model, read_manifest, write_manifest

from .bilstm_fusion import fuse_bilstm
from .graph_edit import rewrite_file
from .model_dir import adopt_variant, parse_adopt, remeasured, score_variants
from .word_set_sum import split_word_set_sum


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="exported run directory (manifest.json and its variants)")
    ap.add_argument("out", type=Path, help="model directory to write (replaced if it exists)")
    ap.add_argument("--variants", required=True, help="comma-separated variants of SOURCE to keep")
    ap.add_argument("--adopt", type=parse_adopt, action="append", default=[], metavar="DIR:VARIANT=NAME",
                    help="add another run's variant under NAME (repeatable)")
    ap.add_argument("--describe", action="append", default=[], metavar="NAME=TEXT",
                    help="a variant's one-line description in the served directory (repeatable)")
    ap.add_argument("--default", help="the served default (default: the first of --variants)")
    ap.add_argument("--data", type=Path, default=None,
                    help="folder with dev.txt: score every variant there into the manifest")
    ap.add_argument("--test", action="store_true",
                    help="with --data, its reserved test.txt too: only for the directory that ships, never a candidate")
    args = ap.parse_args(argv)
    texts = dict(d.split("=", 1) for d in args.describe)
    chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
    names = chosen + [name for _, _, name in args.adopt]
    if set(texts) - set(names):
        ap.error(f"--describe names {sorted(set(texts) - set(names))}, which are not among the variants {names}")
    if args.out.exists():
        shutil.rmtree(args.out)
    kept = copy_model(args.source, args.out, chosen)
    described = {n: replace(v, description=texts[n]) if n in texts else v for n, v in kept.variants.items()}
    write_manifest(args.out, replace(kept, variants=described))
    for folder, variant, name in args.adopt:
        adopt_variant(args.out, folder, variant, name, texts.get(name, f"{variant} of {folder.name}"))
    manifest = read_manifest(args.out)
    for file in {v.file for v in manifest.variants.values()}:
        rewrite_file(args.out / file, fuse_bilstm, split_word_set_sum)
    measured = {n: remeasured(args.out, v) for n, v in manifest.variants.items()}
    write_manifest(args.out, replace(manifest, variants=measured,
                                     default_variant=args.default or manifest.default_variant))
    if args.data:
        score_variants(args.out, args.data, test=args.test)
    print(f"wrote {args.out}: {', '.join(read_manifest(args.out).variants)}")


if __name__ == "__main__":
    main()
