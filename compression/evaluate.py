"""Entity-level evaluation of a model directory's variants, and of the peer tools, on several sets in one run.

python -m compression.evaluate models/msra-base --set msra-dev=../shared/data/msra/dev.txt \\
    --set news=samples/news.txt --variant all --peers lac,jiagu --train ../shared/data/msra/train.txt \\
    --markdown docs/accuracy-table.md --json build/eval.json
python -m compression.evaluate models/msra-base --data ../shared/data/msra/test.txt [--variant int8|all]

Every system is called one sentence at a time, as the app calls it (``rec.predict(text)`` in a loop; the peers
through compression.peers), and timed per call. Scores are exact-span entity P/R/F1 (seqeval strict), per set,
per type, and recall on gold entities whose (text, type) occurs in the --train data (seen) vs not (unseen).
A set file is CoNLL (``char<TAB>tag``) or inline markup (``[马云|PER]在...``), told apart by its first line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import raner
from raner.normalize import normalize
from raner.spans import tags_to_spans

from .data import Sentence, read_conll
from .invocation import invocation
from .metrics import format_report, recall_by_group, score_spans
from .scoring import evaluate as evaluate  # re-exported: the batched scorer this module always offered
from .scoring import read_markup

Span = tuple[str, int, int]
Predict = Callable[[str], list]  # one text -> its spans


def is_conll(path: str | Path) -> bool:
    """True when the first line that is not blank or a ``#`` comment looks like ``char<TAB>tag``."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            char, sep, tag = line.rpartition("\t") if "\t" in line else line.rpartition(" ")
            return bool(sep) and len(char) == 1 and bool(tag.strip()) and "[" not in tag
    return True


def read_set(path: str | Path, markup: bool | None = None) -> list[Sentence]:
    """A CoNLL or a markup file as tagged sentences (``markup`` None: decided by the file's first line)."""
    if markup is None:
        markup = not is_conll(path)
    return read_markup(Path(path)) if markup else read_conll(path)


def known_entities(train: Sequence[Sentence]) -> set[tuple[str, str]]:
    """Every (entity text, type) of the training sentences, the text normalized as the runtime reads it (MSRA writes
    digits and letters full width: ７国集团 and 7国集团 are one name)."""
    return {(normalize(s.text[a:b]), k) for s in train for k, a, b in tags_to_spans(s.tags)}


def seen_unseen_recall(rec: raner.Recognizer, sentences: list[Sentence], train: list[Sentence]) -> dict:
    """Recall of gold entities whose (text, type) occurs in ``train`` vs those that never do, overall and per type."""
    pred = [[(e.type, e.start, e.end) for e in ents] for ents in rec.predict_batch([s.text for s in sentences])]
    return recall_by_group(
        [s.text for s in sentences], [tags_to_spans(s.tags) for s in sentences], pred, known_entities(train)
    )


def recognizer_predict(rec: raner.Recognizer) -> Predict:
    """``rec.predict(text)`` as spans: one sentence per call, as the app calls it."""
    return lambda text: [(e.type, e.start, e.end) for e in rec.predict(text)]


def predict_each(
    predict: Predict, texts: Sequence[str], call_ms: Callable[[], float] | None = None
) -> tuple[list[list[Span]], list[float]]:
    """Spans of each text, one call per text, and each call's milliseconds (``call_ms()`` when the system
    times itself, e.g. a peer measured inside its worker; else the wall time of the call)."""
    spans, ms = [], []
    for text in texts:
        t0 = time.perf_counter()
        got = predict(text)
        wall = (time.perf_counter() - t0) * 1000
        spans.append(list(got))
        ms.append(call_ms() if call_ms else wall)
    return spans, ms


def latency(ms: Sequence[float]) -> dict:
    if not ms:
        return {"median_ms": 0.0, "p90_ms": 0.0, "mean_ms": 0.0}
    ordered = sorted(ms)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p90_ms": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def score_system(
    sentences: Sequence[Sentence], pred: Sequence[Sequence[Span]], known: set[tuple[str, str]] | None = None
) -> dict:
    """P/R/F1 overall and per type, and seen/unseen recall when ``known`` is given."""
    gold = [tags_to_spans(s.tags) for s in sentences]
    result = {"sentences": len(sentences), "scores": score_spans(gold, pred)}
    if known is not None:
        result["seen_unseen"] = recall_by_group([s.text for s in sentences], gold, pred, known)
    return result


def evaluate_sets(
    systems: dict[str, Predict],
    sets: dict[str, Sequence[Sentence]],
    known: set[tuple[str, str]] | None = None,
    timers: dict[str, Callable[[], float]] | None = None,
    log: Callable[[str], None] | None = None,
    keep_predictions: bool = False,
) -> dict:
    """Run every system over every set, one sentence per call; results[set][system] = scores + latency."""
    timers = timers or {}
    results: dict[str, dict] = {}
    for set_name, sentences in sets.items():
        texts = [s.text for s in sentences]
        results[set_name] = {}
        for sys_name, predict in systems.items():
            if texts:
                predict(texts[0])  # warm-up, not timed
            t0 = time.perf_counter()
            pred, ms = predict_each(predict, texts, timers.get(sys_name))
            r = score_system(sentences, pred, known)
            r["latency"] = latency(ms)
            if keep_predictions:
                r["predictions"] = pred
            results[set_name][sys_name] = r
            if log:
                log(
                    f"{set_name:>14} {sys_name:<20} F1 {r['scores']['overall']['f1']:.4f}  "
                    f"median {r['latency']['median_ms']:.2f} ms  ({time.perf_counter() - t0:.0f} s)"
                )
    return results


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def markdown_table(results: dict, types: Sequence[str] = ("PER", "LOC", "ORG")) -> str:
    """One row per (set, system): P, R, F1, per-type F1, seen/unseen recall, median ms; the best F1 of a set in bold."""
    head = [
        "set",
        "system",
        "sentences",
        "entities",
        "P",
        "R",
        "F1",
        *(f"{t} F1" for t in types),
        "seen R",
        "unseen R",
        "median ms",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|"]
    for set_name, systems in results.items():
        best = max((r["scores"]["overall"]["f1"] for r in systems.values()), default=None)
        for sys_name, r in systems.items():
            sc, su = r["scores"], r.get("seen_unseen", {})
            f1 = _f(sc["overall"]["f1"])
            if best is not None and sc["overall"]["f1"] == best and len(systems) > 1:
                f1 = f"**{f1}**"
            row = [
                set_name,
                sys_name,
                str(r["sentences"]),
                str(sc["overall"]["support"]),
                _f(sc["overall"]["precision"]),
                _f(sc["overall"]["recall"]),
                f1,
                *(_f(sc[t]["f1"]) if sc.get(t, {}).get("support") else "–" for t in types),
                _f(su["seen"]["recall"]) if "seen" in su else "–",
                _f(su["unseen"]["recall"]) if "unseen" in su else "–",
                f"{r['latency']['median_ms']:.2f}",
            ]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def parse_set(spec: str) -> tuple[str, Path]:
    name, sep, path = spec.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"--set wants NAME=FILE, got {spec!r}")
    return name, Path(path)


def _names(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, nargs="?", default=raner.DEFAULT_MODEL)
    ap.add_argument(
        "--set",
        dest="sets",
        type=parse_set,
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="an evaluation set (CoNLL or markup, told apart by its first line); repeat for several",
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=None,
        help="one set (named after the file): a CoNLL file, or with --markup a file of [词|TYPE] lines",
    )
    ap.add_argument("--markup", action="store_true", help="--data holds inline markup lines like samples/news.txt")
    ap.add_argument(
        "--variant",
        default=None,
        help="a variant name, several separated by commas, or 'all' (default: the model's default)",
    )
    ap.add_argument("--peers", default="", help="peer tools to run too, e.g. lac,jiagu (they live in their own venv)")
    ap.add_argument(
        "--peers-python",
        default=None,
        help="the peers' python (default: $RANER_PEERS_PYTHON, else /work/peers-venv/bin/python)",
    )
    ap.add_argument(
        "--train",
        "--seen-in",
        dest="train",
        type=Path,
        default=None,
        help="the training data (CoNLL or markup): also report recall on gold entities seen in it vs not",
    )
    ap.add_argument("--limit", type=int, default=0, help="only the first N sentences of each set (quick checks)")
    ap.add_argument("--markdown", type=Path, default=None, help="write the results table here")
    ap.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="write the results as JSON to FILE (no FILE: print JSON instead of the text report)",
    )
    ap.add_argument("--errors", action="store_true", help="also list the first system's missed and spurious entities")
    args = ap.parse_args(argv)

    sets: dict[str, Path] = dict(args.sets)
    if args.data:
        sets[args.data.stem] = args.data
    if not sets:
        ap.error("give --set NAME=FILE (one or more) or --data FILE")
    data = {name: read_set(path, True if (args.markup and path == args.data) else None) for name, path in sets.items()}
    if args.limit:
        data = {name: s[: args.limit] for name, s in data.items()}
    known = known_entities(read_set(args.train)) if args.train else None

    base = raner.load(args.model, cache_size=0)
    variants = list(base.variants) if args.variant == "all" else (_names(args.variant) or [base.variant])
    systems: dict[str, Predict] = {}
    for v in variants:
        systems[v] = recognizer_predict(base if v == base.variant else base.with_variant(v))
    from .peers import start_peers  # noqa: PLC0415  (only when asked for)

    peers = start_peers(_names(args.peers), args.peers_python) if args.peers else {}
    timers = {}
    for name, peer in peers.items():
        print(f"peer {name}: {peer.version} (python {peer.info.get('python', '?')})", file=sys.stderr)
        systems[name], timers[name] = peer.predict, (lambda p=peer: p.last_ms)
    try:
        results = evaluate_sets(
            systems, data, known, timers, log=lambda m: print(m, file=sys.stderr), keep_predictions=args.errors
        )
    finally:
        for peer in peers.values():
            peer.close()

    report = {
        "model": base.name,
        "model_dir": str(args.model),
        "date": date.today().isoformat(),
        "command": invocation("compression.evaluate", argv),
        "machine": {
            "cpus": os.cpu_count(),
            "threads": base.threads,
            "python": platform.python_version(),
            "calls": "one sentence per call",
            "load_average_after": round(os.getloadavg()[0], 2),
        },
        "train": str(args.train) if args.train else None,
        "sets": {name: str(path) for name, path in sets.items()},
        "peers": {
            name: {"versions": p.info.get("versions", {}), "errors": p.errors, "notes": dict(p.notes)}
            for name, p in peers.items()
        },
        "results": {
            s: {k: {x: y for x, y in r.items() if x != "predictions"} for k, r in sys_r.items()}
            for s, sys_r in results.items()
        },
    }
    if args.json and args.json != "-":
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown_document(report), encoding="utf-8")
    if args.json == "-":
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for set_name, sys_r in results.items():
            for sys_name, r in sys_r.items():
                print(f"== {base.name} / {sys_name} on {sets[set_name]} ({r['sentences']} sentences)")
                print(format_report(r["scores"]))
                for key, g in r.get("seen_unseen", {}).items():
                    print(f"{key:12} {g['entities']:6d} {g['recall']:.4f}")
    if args.errors:
        first = next(iter(systems))
        for set_name, sentences in data.items():
            print(f"== {first} on {set_name}: missed and spurious entities")
            for s, spans in zip(sentences, results[set_name][first]["predictions"]):
                gold = {(s.text[a:b], k) for k, a, b in tags_to_spans(s.tags)}
                got = {(s.text[a:b], k) for k, a, b in spans}
                if gold != got:
                    print(f"{s.text}\n   missed: {sorted(gold - got)}  spurious: {sorted(got - gold)}")
    return 0


def markdown_document(report: dict) -> str:
    """The markdown file: what was run, on what, then the table."""
    peers = (
        "; ".join(
            f"{n}: " + ", ".join(f"{k} {v}" for k, v in p["versions"].items()) for n, p in report["peers"].items()
        )
        or "none"
    )
    sets = ", ".join(f"`{n}` = `{p}`" for n, p in report["sets"].items())
    seen = (
        f"Seen / unseen R: recall on gold entities whose (text, type) does / does not occur in `{report['train']}`."
        if report["train"]
        else ""
    )
    m = report["machine"]
    return (
        f"# Accuracy of {report['model']} and the peer tools on every set\n\n"
        f"Measured {report['date']} with `{report['command']}`.\n\n"
        f"Machine: {m['cpus']} cores, {m['threads']} thread, {m['calls']} (the app's `rec.predict(text)`; "
        f"the peers through their worker process, timed inside it, without the pipe); "
        f"load average {m['load_average_after']} "
        "at the end of the run: the median ms are comparable within one run, not across machines. "
        f"Sets: {sets}. Peers: {peers}.\n\n"
        "Entity-level exact-span scores (type and both ends must match; seqeval strict). "
        f"{seen} The best F1 of each set is in bold.\n\n" + markdown_table(report["results"])
    )


if __name__ == "__main__":
    sys.exit(main())
