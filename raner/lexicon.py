"""Dictionary-match features: which typed dictionary words cover each character, and where.

Two outputs per text: a 0/1 matrix of (category, B/M/E/S) memberships, and, when the words carry
embedding ids, the SoftLexicon-style word sets: for each character, the ids of up to ``set_size``
words that Begin, are in the Middle of, End, or are a Single-character word at it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

POSITIONS = ("B", "M", "E", "S")


class Lexicon:
    """Words with category bitmasks (and optional embedding ids), matched against text."""

    def __init__(self, words: dict[str, int], categories: Iterable[str], max_word_len: int | None = None,
                 word_ids: dict[str, int] | None = None, set_size: int = 4):
        self.categories = tuple(categories)
        self.words = words
        self.word_ids = word_ids or {}
        self.set_size = set_size
        self._table = {w: (words.get(w, 0), self.word_ids.get(w, 0)) for w in set(words) | set(self.word_ids)}
        self.max_word_len = max_word_len or max((len(w) for w in self._table), default=1)

    @property
    def width(self) -> int:
        """Number of category feature columns: one per (category, position)."""
        return len(self.categories) * len(POSITIONS)

    @property
    def has_word_ids(self) -> bool:
        return bool(self.word_ids)

    @classmethod
    def read(cls, path: str | Path, categories: Iterable[str], set_size: int = 4) -> "Lexicon":
        """Read ``word<TAB>CAT1,CAT2[<TAB>embedding id]`` lines; unknown categories are ignored."""
        categories = tuple(categories)
        bit = {c: 1 << i for i, c in enumerate(categories)}
        words: dict[str, int] = {}
        ids: dict[str, int] = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                word = parts[0]
                if not word:
                    continue
                mask = 0
                for c in (parts[1].split(",") if len(parts) > 1 else ()):
                    mask |= bit.get(c, 0)
                if mask:
                    words[word] = words.get(word, 0) | mask
                if len(parts) > 2 and parts[2]:
                    ids[word] = int(parts[2])
        return cls(words, categories, word_ids=ids, set_size=set_size)

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
