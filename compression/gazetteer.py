"""The lexicon file shipped with a model, built from jieba's bundled dictionary (MIT licensed).

jieba tags words with parts of speech; person (nr, nrt, nrfg), place (ns) and organisation (nt)
words become typed gazetteer entries, and frequent words of any kind mark word boundaries.
"""
from __future__ import annotations

import os
from pathlib import Path

from raner.normalize import normalize

CATEGORIES = ("WORD", "PER", "LOC", "ORG", "LAC_PER", "LAC_LOC", "LAC_ORG")  # append only: a prefix per model
JIEBA_CATEGORIES = CATEGORIES[:4]
POS_TO_TYPE = {"nr": "PER", "nrt": "PER", "nrfg": "PER", "ns": "LOC", "nt": "ORG"}


def categories_for(lexicon_width: int) -> tuple[str, ...]:
    """The lexicon categories of a network whose lexicon input is ``lexicon_width`` wide (B/M/E/S each)."""
    return CATEGORIES[: lexicon_width // 4]


def jieba_dict_path() -> Path:
    """Location of jieba's dictionary in the installed package."""
    import jieba

    return Path(os.path.dirname(jieba.__file__)) / "dict.txt"


def build_lexicon(out: str | Path, min_word_freq: int = 10, max_len: int = 8, source: str | Path | None = None,
                  lac_words: list[str] | None = None, lac_types: dict[str, str] | None = None) -> int:
    """Write ``word<TAB>CATS[<TAB>id]`` lines; ``id`` is the word's row (1-based) in LAC's embedding table.

    ``lac_types`` (word -> PER/LOC/ORG, as LAC's own tagger types the word) adds LAC_PER/LAC_LOC/LAC_ORG entries:
    LAC knows modern names that jieba's dictionary mistypes (jieba: 阿里巴巴 person, 华为 person, 京东 place).
    """
    entries: dict[str, set[str]] = {}
    ids: dict[str, int] = {}
    for i, w in enumerate(lac_words or (), start=1):
        w = normalize(w)
        if 2 <= len(w) <= max_len and w not in ids:
            ids[w] = i
            entries.setdefault(w, set())
    for w, kind in (lac_types or {}).items():
        w = normalize(w)
        if 2 <= len(w) <= max_len:
            entries.setdefault(w, set()).add("LAC_" + kind)
    with open(source or jieba_dict_path(), encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3:
                continue
            word, freq, pos = normalize(parts[0]), int(parts[1]), parts[2]
            if not 2 <= len(word) <= max_len:
                continue
            cats = set()
            if pos in POS_TO_TYPE:
                cats.add(POS_TO_TYPE[pos])
            if freq >= min_word_freq:
                cats.add("WORD")
            if cats:
                entries.setdefault(word, set()).update(cats)
    with open(out, "w", encoding="utf-8") as f:
        for word in sorted(entries):
            if "\t" in word or not word.strip():
                continue
            cats = ",".join(c for c in CATEGORIES if c in entries[word])
            f.write(word + "\t" + cats + (f"\t{ids[word]}" if word in ids else "") + "\n")
    return len(entries)
