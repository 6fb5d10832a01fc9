"""Write merged training data from every corpus in ../shared/data, mapped onto the project's entity guideline.

python -m compression.build_corpus --out build/data/multi [--weights msra=1,weibo=3,resume=1,cluener=1]

Writes train.txt (each corpus's train split, repeated ``weight`` times, shuffled with a fixed seed; sentences
identical to a selection sentence dropped), dev.txt (all selection splits), dev.<corpus>.txt and stats.json; with
--test also test.txt, MSRA's reserved test split mapped the same way (sentences identical to a training sentence
dropped), which only the shipped model's one report reads.
`python -m compression.train --data build/data/multi` reads it as it reads the MSRA folder.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

from raner.spans import tags_to_spans

from .corpora import CORPORA, DEFAULT_CORPORA, dedupe, read_corpora, read_msra_test, shares_window, write_conll

DEFAULT_WEIGHTS = "msra=1,weibo=3,resume=1,cluener=1"


def parse_weights(spec: str) -> dict[str, int]:
    weights = dict.fromkeys(CORPORA, 1)
    for part in filter(None, spec.split(",")):
        name, _, n = part.partition("=")
        if name not in weights or not n.isdigit():
            raise SystemExit(f"--weights: expected corpus=N with corpus in {', '.join(CORPORA)}, got {part!r}")
        weights[name] = int(n)
    return weights


def entity_counts(sentences) -> dict[str, int]:
    return dict(sorted(Counter(kind for s in sentences for kind, _, _ in tags_to_spans(s.tags)).items()))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_CORPORA, help="folder holding msra/ weibo/ resume/ cluener/")
    ap.add_argument("--out", type=Path, required=True, help="folder to write train.txt, dev*.txt and stats.json to")
    ap.add_argument(
        "--weights",
        default=DEFAULT_WEIGHTS,
        help="times each corpus's training sentences are repeated "
        f"(0 leaves it out of train.txt; default {DEFAULT_WEIGHTS})",
    )
    ap.add_argument("--seed", type=int, default=13, help="seed of the training sentence order")
    ap.add_argument("--test", action="store_true", help="also write test.txt (MSRA test on the guideline)")
    args = ap.parse_args(argv)
    weights = parse_weights(args.weights)

    corpora = read_corpora(args.data)
    held_out = [s for c in corpora.values() for s in c.dev]
    held_texts = [s.text for s in held_out]
    args.out.mkdir(parents=True, exist_ok=True)
    train, stats = [], {"weights": weights, "seed": args.seed, "corpora": {}}
    for name, corpus in corpora.items():
        kept = dedupe(corpus.train, held_out)
        overlap = shares_window([s.text for s in kept], held_texts)
        train += kept * weights[name]
        write_conll(args.out / f"dev.{name}.txt", corpus.dev)
        stats["corpora"][name] = {
            "train_sentences": len(kept),
            "dev_sentences": len(corpus.dev),
            "train_entities": entity_counts(kept),
            "dev_entities": entity_counts(corpus.dev),
            "train_dropped_identical_to_dev": len(corpus.train) - len(kept),
            "train_sharing_12char_window_with_dev": len(overlap),
            "mapping": corpus.stats.to_dict(),
        }
    random.Random(args.seed).shuffle(train)
    write_conll(args.out / "train.txt", train)
    write_conll(args.out / "dev.txt", held_out)
    if args.test:
        test = read_msra_test(args.data)
        kept_test = dedupe(test, train)
        write_conll(args.out / "test.txt", kept_test)
        stats["msra_test"] = {"sentences": len(kept_test), "dropped_identical_to_train": len(test) - len(kept_test),
                              "entities": entity_counts(kept_test)}
    stats["train_sentences_written"] = len(train)
    stats["dev_sentences_written"] = len(held_out)
    (args.out / "stats.json").write_text(json.dumps(stats, ensure_ascii=False, indent=2), encoding="utf-8")

    print(f"{'corpus':8} {'weight':>6} {'train':>7} {'dev':>6} {'dup':>5} {'win12':>6}  train PER/LOC/ORG (once)")
    for name, s in stats["corpora"].items():
        ents = s["train_entities"]
        print(
            f"{name:8} {weights[name]:>6} {s['train_sentences']:>7} {s['dev_sentences']:>6} "
            f"{s['train_dropped_identical_to_dev']:>5} {s['train_sharing_12char_window_with_dev']:>6}  "
            f"{ents.get('PER', 0)}/{ents.get('LOC', 0)}/{ents.get('ORG', 0)}"
        )
    print(
        f"wrote {len(train)} training and {len(held_out)} selection sentences to {args.out} (rule counts: stats.json)"
    )


if __name__ == "__main__":
    main()
