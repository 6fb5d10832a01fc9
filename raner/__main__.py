"""Command line: ``python -m raner "马云在杭州阿里巴巴总部发表演讲"`` prints the entities as JSON.

With no text argument, reads one text per line from standard input and prints one JSON line each.
``python -m raner annotate INPUT OUTPUT [--format jsonl|csv|conll] [--workers N]`` annotates files in bulk.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

from . import ModelError, UnknownVariantError, load


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["annotate"]:
        return annotate_main(argv[1:])
    ap = argparse.ArgumentParser(
        prog="python -m raner", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "text", nargs="*", help="text to analyse (several arguments are joined by spaces); omit to read stdin"
    )
    ap.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    ap.add_argument("--variant", default=None, help="model variant (default: the model's default)")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    ap.add_argument("--no-scores", action="store_true", help="leave out each entity's probability (a little faster)")
    args = ap.parse_args(argv)
    try:
        rec = load(args.model, args.variant, args.threads, scores=not args.no_scores)
    except (ModelError, UnknownVariantError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.text:
        _emit(rec, " ".join(args.text))
        return 0
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    for line in stdin:
        _emit(rec, line.rstrip("\r\n"))
    return 0


def annotate_main(argv: list[str]) -> int:
    from .annotate import FORMATS, annotate

    ap = argparse.ArgumentParser(
        prog="python -m raner annotate",
        description="Annotate a .txt (one document a line), "
        '.jsonl ({"text": ...}) or .csv file; constant memory, one ONNX session per worker.',
    )
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument(
        "--format", choices=FORMATS, default=None, help="output format (default: from OUTPUT's suffix, else jsonl)"
    )
    ap.add_argument("--workers", type=int, default=1, help="worker processes (each loads the model once)")
    ap.add_argument("--column", default="text", help="the text column of a .csv input")
    ap.add_argument("--model", default=None)
    ap.add_argument("--variant", default=None)
    ap.add_argument("--no-scores", action="store_true", help="leave out each entity's probability (a little faster)")
    args = ap.parse_args(argv)
    named = args.output.with_suffix("") if args.output.suffix.lower() == ".zip" else args.output  # out.csv.zip: csv
    fmt = args.format or (named.suffix.lstrip(".") if named.suffix.lstrip(".") in FORMATS else "jsonl")
    try:
        stats = annotate(
            args.input, args.output, fmt, args.workers, args.model, args.variant, args.column, scores=not args.no_scores
        )
    except (OSError, ValueError, ModelError) as e:
        hint = "; choose one with --column" if "no column" in str(e) else ""
        print(f"error: {args.input}: {e}{hint}", file=sys.stderr)
        return 2
    for bad in stats["errors"]:
        print(f"skipped {args.input}:{bad['line']}: {bad['error']}", file=sys.stderr)
    print(json.dumps(stats, ensure_ascii=False), file=sys.stderr)
    return 0


def _emit(rec, text: str) -> None:
    # Undecodable command-line bytes arrive as lone surrogates, one a byte: each becomes one U+FFFD, so the output
    # is valid UTF-8 and offsets count one character a byte, as in the text the entities are cut from.
    text = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    entities = [e.to_dict() for e in rec.predict(text)]
    sys.stdout.write(json.dumps({"entities": entities}, ensure_ascii=False) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
