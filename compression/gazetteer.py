"""The lexicon file shipped with a model, built from jieba's bundled dictionary (MIT licensed).

jieba tags words with parts of speech; person (nr, nrt, nrfg), place (ns) and organisation (nt)
words become typed gazetteer entries, and frequent words of any kind mark word boundaries. The name lists of
gazetteers/ (China's listed companies, CC-CEDICT's organisations) can be added as organisations.
"""
from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

from raner.lexicon import Lexicon
from raner.normalize import normalize

CATEGORIES = ("WORD", "PER", "LOC", "ORG", "LAC_PER", "LAC_LOC", "LAC_ORG")  # append only: a prefix per model
JIEBA_CATEGORIES = CATEGORIES[:4]
POS_TO_TYPE = {"nr": "PER", "nrt": "PER", "nrfg": "PER", "ns": "LOC", "nt": "ORG"}
LISTED_COMPANIES = Path(__file__).resolve().parent / "gazetteers" / "listed_companies.txt"
CEDICT_ORGANISATIONS = Path(__file__).resolve().parent / "gazetteers" / "cedict_organisations.txt"
NAME_LISTS = (LISTED_COMPANIES, CEDICT_ORGANISATIONS)  # what becomes an organisation entry, gazetteers/README.md
COMPANY_CATEGORIES = ("WORD", "ORG", "LAC_ORG")  # "a dictionary says organisation", in both dictionaries
_MARKET_PREFIX = re.compile(r"^(退市|S?\*?ST|PT|XD|XR|DR|N|C|U)(?=[\u4e00-\u9fff])")  # delisting, special treatment
_SHARE_SUFFIX = re.compile(r"(-[A-Z]{1,3}|[AB]|退)$")  # -U (unprofitable), -W (weighted votes), A/B shares, delisting
_FACILITIES = ("机场", "港")  # a listed airport or port is mostly named as the place (白云机场, 盐田港)


def write_name_list(path: Path, text: str, check: bool = False) -> bool:
    """Write a gazetteers/ list as its build script rendered it, or with ``check`` only compare: True when the file
    already holds ``text``. Prints what it did (both build scripts' last step)."""
    same = path.is_file() and path.read_text(encoding="utf-8") == text
    if check:
        print(f"{path}: {'up to date' if same else 'differs from a fresh build'}")
        return same
    path.write_text(text, encoding="utf-8")
    print(f"{path}: {sum(1 for line in text.splitlines() if not line.startswith('#'))} names")
    return same


def categories_for(lexicon_width: int) -> tuple[str, ...]:
    """The lexicon categories of a network whose lexicon input is ``lexicon_width`` wide (B/M/E/S each)."""
    return CATEGORIES[: lexicon_width // 4]


def jieba_dict_path() -> Path:
    """Location of jieba's dictionary in the installed package."""
    import jieba

    return Path(os.path.dirname(jieba.__file__)) / "dict.txt"


def jieba_entries(source: str | Path | None = None) -> list[tuple[str, int, str]]:
    """jieba's dictionary (or ``source`` in its format) line by line: (normalized word, frequency, part of speech). A
    word can come twice once normalized (a traditional and a simplified spelling)."""
    entries = []
    with open(source or jieba_dict_path(), encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3:
                entries.append((normalize(parts[0]), int(parts[1]), parts[2]))
    return entries


def jieba_words(source: str | Path | None = None) -> dict[str, tuple[int, str]]:
    """jieba's dictionary as normalized word -> (frequency, part of speech); a word listed twice keeps its later
    line."""
    return {word: (freq, pos) for word, freq, pos in jieba_entries(source)}


def build_lexicon(out: str | Path, min_word_freq: int = 10, max_len: int = 8, source: str | Path | None = None,
                  lac_words: list[str] | None = None, lac_types: dict[str, str] | None = None,
                  companies: Iterable[str] | None = None) -> int:
    """Write ``word<TAB>CATS[<TAB>id]`` lines; ``id`` is the word's row (1-based) in LAC's embedding table.

    ``lac_types`` (word -> PER/LOC/ORG, as LAC's own tagger types the word) adds LAC_PER/LAC_LOC/LAC_ORG entries:
    LAC knows modern names that jieba's dictionary mistypes (jieba: 阿里巴巴 person, 华为 person, 京东 place).
    ``companies`` (``company_names()``) become organisations as ``companies_to_add`` and ``with_companies`` say.
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
    jieba = jieba_entries(source)
    for word, freq, pos in jieba:  # every line: a word spelt twice gets the categories of both lines
        if not 2 <= len(word) <= max_len:
            continue
        cats = set()
        if pos in POS_TO_TYPE:
            cats.add(POS_TO_TYPE[pos])
        if freq >= min_word_freq:
            cats.add("WORD")
        if cats:
            entries.setdefault(word, set()).update(cats)
    org = set(COMPANY_CATEGORIES) if lac_types is not None else set(COMPANY_CATEGORIES) - {"LAC_ORG"}
    for name in companies_to_add(companies or (), entries, {w: (f, p) for w, f, p in jieba}):
        entries.setdefault(name, set()).update(org)
    with open(out, "w", encoding="utf-8") as f:
        for word in sorted(entries):
            if "\t" in word or not word.strip():
                continue
            cats = ",".join(c for c in CATEGORIES if c in entries[word])
            f.write(word + "\t" + cats + (f"\t{ids[word]}" if word in ids else "") + "\n")
    return len(entries)


def company_names(paths: Iterable[str | Path] = NAME_LISTS, max_len: int = 8) -> list[str]:
    """The names of the lists, normalized, without a listed company's market marks (*ST华仪 -> 华仪, 万科A -> 万科,
    寒武纪-U -> 寒武纪), of 2 to ``max_len`` characters with at least one Chinese character, each once."""
    names = []
    lines = [line for path in paths for line in Path(path).read_text(encoding="utf-8").splitlines()]
    for line in lines:
        name = normalize(line).replace(" ", "")
        if not name or name.startswith("#"):
            continue
        for _ in range(2):  # a mark can hide another (*ST...A)
            name = _SHARE_SUFFIX.sub("", _MARKET_PREFIX.sub("", name))
        if 2 <= len(name) <= max_len and re.search(r"[\u4e00-\u9fff]", name):
            names.append(name)
    return list(dict.fromkeys(names))


def companies_to_add(names: Iterable[str], types: Mapping[str, Collection[str]],
                     jieba: dict[str, tuple[int, str]], max_common_freq: int = 50) -> list[str]:
    """The names that become organisation entries, given the categories the lexicon already has for each word: not
    typed as a person or place already (张家界 and 峨眉山 are listed companies too, and jieba calls 比亚迪 a person: a
    second, contradicting type would blur both), not an everyday word (农产品, 太阳能: in jieba with another part of
    speech than nt/nz, seen at least ``max_common_freq`` times), not an airport or port."""
    clash = {"PER", "LOC", "LAC_PER", "LAC_LOC"}
    keep = []
    for name in names:
        freq, pos = jieba.get(name, (0, ""))
        if clash.intersection(types.get(name, ())) or name.endswith(_FACILITIES):
            continue
        if pos not in ("nt", "nz") and freq >= max_common_freq:
            continue
        keep.append(name)
    return keep


def word_types(lexicon: Lexicon) -> dict[str, set[str]]:
    """Each word of a lexicon with the names of its categories."""
    cats = lexicon.categories
    return {w: {c for i, c in enumerate(cats) if mask >> i & 1} for w, mask in lexicon.words.items()}


def with_companies(lexicon: Lexicon, names: Iterable[str]) -> Lexicon:
    """The lexicon with each name also in COMPANY_CATEGORIES (WORD, ORG, LAC_ORG): what the networks learned from
    jieba's and LAC's organisations then reads these names the same way, without retraining."""
    bits = sum(1 << lexicon.categories.index(c) for c in COMPANY_CATEGORIES if c in lexicon.categories)
    return lexicon.with_masks({name: bits for name in names})
