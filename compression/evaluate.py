"""Entity-level evaluation of a model directory through the runtime.

python -m compression.evaluate models/msra-base --data ../shared/data/msra/test.txt [--variant int8|all]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import raner
from raner.markup import read_marked_file
from raner.spans import spans_to_tags, tags_to_spans

from .data import Sentence, read_conll
from .metrics import format_report, score_spans


def read_markup(path: Path) -> list[Sentence]:
    """Sentences from inline markup (``[马云|PER]在...``) as tagged sentences."""
    out = []
    for text, ents in read_marked_file(path):
        out.append(Sentence(text, spans_to_tags([(e.type, e.start, e.end) for e in ents], len(text))))
    return out


def evaluate(rec: raner.Recognizer, sentences: list[Sentence]) -> dict:
    """Score the recognizer's entities against the gold tags (exact span and type)."""
    pred = rec.predict_batch([s.text for s in sentences])
    gold = [tags_to_spans(s.tags) for s in sentences]
    return score_spans(gold, [[(e.type, e.start, e.end) for e in ents] for ents in pred])


def seen_unseen_recall(rec: raner.Recognizer, sentences: list[Sentence], train: list[Sentence]) -> dict:
    """Recall of gold entities whose (text, type) occurs in ``train`` vs those that never do, overall and per type."""
    known = {(s.text[a:b], k) for s in train for k, a, b in tags_to_spans(s.tags)}
    counts: dict[str, list[int]] = {}
    for s, ents in zip(sentences, rec.predict_batch([s.text for s in sentences])):
        got = {(e.type, e.start, e.end) for e in ents}
        for k, a, b in tags_to_spans(s.tags):
            group = "seen" if (s.text[a:b], k) in known else "unseen"
            for key in (group, f"{group} {k}"):
                hit_total = counts.setdefault(key, [0, 0])
                hit_total[0] += (k, a, b) in got
                hit_total[1] += 1
    return {key: {"entities": t, "recall": round(h / t, 4)} for key, (h, t) in sorted(counts.items())}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, nargs="?", default=raner.DEFAULT_MODEL)
    ap.add_argument("--data", type=Path, required=True, help="a CoNLL file (char<TAB>tag), or with --markup a file of [词|TYPE] lines")
    ap.add_argument("--markup", action="store_true", help="--data holds inline markup lines like samples/news.txt")
    ap.add_argument("--errors", action="store_true", help="also list each sentence's missed and spurious entities")
    ap.add_argument("--variant", default=None, help="a variant name, or 'all' (default: the model's default)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--seen-in", type=Path, default=None,
                    help="a training CoNLL file: also report recall on gold entities seen in it vs never seen")
    args = ap.parse_args(argv)
    sentences = read_markup(args.data) if args.markup else read_conll(args.data)
    base = raner.load(args.model, cache_size=0)
    names = base.variants if args.variant == "all" else [args.variant or base.variant]
    results = {v: evaluate(base.with_variant(v), sentences) for v in names}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for v, r in results.items():
        print(f"== {args.model.name} / {v} on {args.data} ({len(sentences)} sentences)")
        print(format_report(r))
    if args.seen_in:
        train = read_conll(args.seen_in)
        for v in names:
            print(f"== {v}: recall by whether the entity (text and type) occurs in {args.seen_in}")
            for key, r in seen_unseen_recall(base.with_variant(v), sentences, train).items():
                print(f"{key:12} {r['entities']:6d} {r['recall']:.4f}")
    if args.errors:
        rec = base.with_variant(names[0])
        for s, ents in zip(sentences, rec.predict_batch([s.text for s in sentences])):
            gold = {(s.text[a:b], k) for k, a, b in tags_to_spans(s.tags)}
            got = {(e.text, e.type) for e in ents}
            if gold != got:
                print(f"{s.text}\n   missed: {sorted(gold - got)}  spurious: {sorted(got - gold)}")


if __name__ == "__main__":
    main()
