"""Command line: ``python -m raner "马云在杭州阿里巴巴总部发表演讲"`` prints the entities as JSON.

With no text argument, reads one text per line from standard input and prints one JSON line each.
"""
from __future__ import annotations

import argparse
import json
import sys

from . import ModelError, UnknownVariantError, load


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m raner", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("text", nargs="*", help="text to analyse (several arguments are joined by spaces); omit to read stdin")
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
    for line in sys.stdin:
        _emit(rec, line.rstrip("\r\n"))
    return 0


def _emit(rec, text: str) -> None:
    entities = [e.to_dict() for e in rec.predict(text)]
    sys.stdout.write(json.dumps({"entities": entities}, ensure_ascii=False) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
