"""Put a variant of another run into an existing served model directory, leaving its other variants' files as they
are (a retrained student replaced without rewriting, and adding to the history, the teacher's 130 MB).

python -m compression.adopt models/multi-base runs/student:pruned-int8-emb4=student --describe "..." \\
    --data build/data/multi [--test] [--default student]

The adopted graph is rewritten as ``compression.release`` rewrites (one bidirectional LSTM node, the word-set sum
split), measured, and with --data scored on dev.txt and the per-corpus dev files into the manifest, with --test on
test.txt as well (a reserved split: only for the variant that ships, never while candidates are compared); the others
keep their recorded scores.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from raner.manifest import read_manifest, write_manifest

from .bilstm_fusion import fuse_bilstm
from .graph_edit import rewrite_file
from .model_dir import adopt_variant, parse_adopt, remeasured, score_variants
from .word_set_sum import split_word_set_sum


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path, help="served model directory to update")
    ap.add_argument("adopt", type=parse_adopt, metavar="DIR:VARIANT=NAME", help="the run's variant and its new name")
    ap.add_argument("--describe", help="the variant's one-line description (default: the one it has now, if any)")
    ap.add_argument("--data", type=Path, help="folder with dev.txt (and test.txt): score the adopted variant there")
    ap.add_argument("--test", action="store_true", help="with --data, also score test.txt (reserved: the shipped "
                    "variant only, once it is chosen)")
    ap.add_argument("--default", help="make this variant the served default")
    args = ap.parse_args(argv)
    folder, variant, name = args.adopt
    before = read_manifest(args.model_dir)
    if args.default and args.default != name and args.default not in before.variants:
        ap.error(f"--default {args.default}: {args.model_dir} has no such variant ({', '.join(before.variants)})")
    old = before.variants.get(name)
    description = args.describe or (old.description if old else f"{variant} of {folder.name}")
    adopted = adopt_variant(args.model_dir, folder, variant, name, description)
    rewrite_file(args.model_dir / adopted.file, fuse_bilstm, split_word_set_sum)
    manifest = read_manifest(args.model_dir).with_variant(remeasured(args.model_dir, adopted))
    write_manifest(args.model_dir, replace(manifest, default_variant=args.default or manifest.default_variant))
    if args.data:
        score_variants(args.model_dir, args.data, names=[name], test=args.test)
    stale = before.referenced_files() - read_manifest(args.model_dir).referenced_files()
    for file in sorted(stale):
        (args.model_dir / file).unlink(missing_ok=True)
    print(f"{args.model_dir}: {name} from {folder}:{variant}" + (f", removed {sorted(stale)}" if stale else ""))


if __name__ == "__main__":
    main()
