"""Dictionary-match features: which typed dictionary words cover each character, and where.

Two outputs per text: a 0/1 matrix of (category, B/M/E/S) memberships, and, when the words carry
embedding ids, the SoftLexicon-style word sets: for each character, the ids of up to ``set_size``
words that Begin, are in the Middle of, End, or are a Single-character word at it.
"""
from __future__ import annotations

import gc
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .packed import pack_strings, unpack_strings

POSITIONS = ("B", "M", "E", "S")


class Lexicon:
    """Words with category bitmasks (and optional embedding ids), matched against text.

    Two file forms: ``lexicon.tsv`` (readable, ``word<TAB>CAT1,CAT2[<TAB>embedding id]``) and the packed
    ``lexicon.npz`` that ``write_packed`` makes from it, which loads several times faster (cold start).
    """

    def __init__(self, words: dict[str, int], categories: Iterable[str], max_word_len: int | None = None,
                 word_ids: dict[str, int] | None = None, set_size: int = 4):
        word_ids = word_ids or {}
        table = {w: (words.get(w, 0), word_ids.get(w, 0)) for w in set(words) | set(word_ids)}
        self._init(table, tuple(categories), set_size, bool(word_ids), max_word_len)

    def _init(self, table: dict[str, tuple[int, int]], categories: tuple[str, ...], set_size: int, has_ids: bool,
              max_word_len: int | None = None) -> None:
        self.categories, self.set_size, self._table, self._has_ids = categories, set_size, table, has_ids
        self.max_word_len = max_word_len or max(map(len, table), default=1)

    @property
    def words(self) -> dict[str, int]:
        """Category bitmask of every word that has one."""
        return {w: m for w, (m, _) in self._table.items() if m}

    @property
    def width(self) -> int:
        """Number of category feature columns: one per (category, position)."""
        return len(self.categories) * len(POSITIONS)

    @property
    def has_word_ids(self) -> bool:
        return self._has_ids

    @classmethod
    def read(cls, path: str | Path, categories: Iterable[str], set_size: int = 4) -> Lexicon:
        """Read a ``.npz`` written by ``write_packed``, or ``word<TAB>CAT1,CAT2[<TAB>embedding id]`` lines
        (unknown categories are ignored)."""
        if str(path).endswith(".npz"):
            return cls._read_packed(Path(path), tuple(categories), set_size)
        categories = tuple(categories)
        bit = {c: 1 << i for i, c in enumerate(categories)}
        table: dict[str, tuple[int, int]] = {}
        has_ids = False
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                word = parts[0]
                if not word:
                    continue
                mask = 0
                for c in (parts[1].split(",") if len(parts) > 1 else ()):
                    mask |= bit.get(c, 0)
                wid = int(parts[2]) if len(parts) > 2 and parts[2] else 0
                old_mask, old_id = table.get(word, (0, 0))
                if mask or wid:
                    table[word] = (old_mask | mask, wid or old_id)
                has_ids = has_ids or wid > 0
        lex = cls.__new__(cls)
        lex._init(table, categories, set_size, has_ids)
        return lex

    def write_packed(self, path: str | Path) -> None:
        """Save as ``.npz``: the words joined by newlines (UTF-8 bytes), their masks and embedding ids."""
        words = list(self._table)
        masks = np.fromiter((self._table[w][0] for w in words), dtype=np.int32, count=len(words))
        ids = np.fromiter((self._table[w][1] for w in words), dtype=np.int32, count=len(words))
        with open(path, "wb") as f:
            np.savez(f, words=pack_strings(words), masks=masks, ids=ids, categories=np.array(self.categories),
                     has_ids=np.array(self._has_ids), max_word_len=np.array(self.max_word_len))

    @classmethod
    def _read_packed(cls, path: Path, categories: tuple[str, ...], set_size: int) -> Lexicon:
        with np.load(path, allow_pickle=False) as z:
            stored = tuple(str(c) for c in z["categories"])
            if stored != categories:
                raise ValueError(f"{path.name} was packed for categories {stored}, the manifest says {categories}")
            words = unpack_strings(z["words"])
            masks, ids = z["masks"].tolist(), z["ids"].tolist()
            if not (len(words) == len(masks) == len(ids)):
                raise ValueError(f"{path.name}: {len(words)} words but {len(masks)} masks and {len(ids)} ids")
            # 188k (mask, id) tuples would trigger several full passes of the cyclic garbage collector while
            # the table is built (tuples of ints cannot form cycles): pausing it cuts this load by about half
            collecting = gc.isenabled()
            gc.disable()
            try:
                table = dict(zip(words, zip(masks, ids)))
            finally:
                if collecting:
                    gc.enable()
            lex = cls.__new__(cls)
            lex._init(table, categories, set_size, bool(z["has_ids"]), int(z["max_word_len"]))
        return lex

    def matches(self, text: str) -> list[tuple[int, int, int, int]]:
        """Every dictionary word in ``text`` as ``(start, end, category_mask, embedding_id)``."""
        table, found, n = self._table, [], len(text)
        for i in range(n):
            for j in range(i + 1, min(n, i + self.max_word_len) + 1):
                hit = table.get(text[i:j])
                if hit:
                    found.append((i, j, hit[0], hit[1]))
        return found

    def features(self, text: str, matches: list | None = None) -> np.ndarray:
        """A ``[len(text), width]`` float32 0/1 matrix of (category, B/M/E/S) memberships."""
        feats = np.zeros((len(text), self.width), dtype=np.float32)
        npos = len(POSITIONS)
        for start, end, mask, _ in self.matches(text) if matches is None else matches:
            for c in range(len(self.categories)):
                if not mask & (1 << c):
                    continue
                base = c * npos
                if end - start == 1:
                    feats[start, base + 3] = 1.0
                    continue
                feats[start, base] = 1.0
                feats[start + 1 : end - 1, base + 1] = 1.0
                feats[end - 1, base + 2] = 1.0
        return feats

    def word_sets(self, text: str, matches: list | None = None) -> np.ndarray:
        """``[len(text), 4, set_size]`` int64 embedding ids of the B/M/E/S word sets (0 pads); longer words first."""
        k = self.set_size
        sets = np.zeros((len(text), len(POSITIONS), k), dtype=np.int64)
        fill = np.zeros((len(text), len(POSITIONS)), dtype=np.int64)
        found = self.matches(text) if matches is None else matches
        for start, end, _, wid in sorted(found, key=lambda m: m[0] - m[1]):
            if not wid:
                continue
            if end - start == 1:
                slots = [(start, 3)]
            else:
                slots = [(start, 0), (end - 1, 2)] + [(i, 1) for i in range(start + 1, end - 1)]
            for pos, kind in slots:
                if fill[pos, kind] < k:
                    sets[pos, kind, fill[pos, kind]] = wid
                    fill[pos, kind] += 1
        return sets
