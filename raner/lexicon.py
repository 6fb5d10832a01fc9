"""Dictionary-match features: for each character, which typed dictionary words cover it, and where."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

POSITIONS = ("B", "M", "E", "S")


class Lexicon:
    """Words with a set of categories each; ``features`` marks B/M/E/S per category per character."""

    def __init__(self, words: dict[str, int], categories: Iterable[str], max_word_len: int | None = None):
        self.categories = tuple(categories)
        self.words = words
        self.max_word_len = max_word_len or max((len(w) for w in words), default=1)

    @property
    def width(self) -> int:
        """Number of feature columns: one per (category, position)."""
        return len(self.categories) * len(POSITIONS)

    @classmethod
    def read(cls, path: str | Path, categories: Iterable[str]) -> "Lexicon":
        """Read ``word<TAB>CAT1,CAT2`` lines; categories outside ``categories`` are ignored."""
        categories = tuple(categories)
        bit = {c: 1 << i for i, c in enumerate(categories)}
        words: dict[str, int] = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                word, _, cats = line.rstrip("\n").partition("\t")
                mask = 0
                for c in cats.split(","):
                    mask |= bit.get(c, 0)
                if word and mask:
                    words[word] = words.get(word, 0) | mask
        return cls(words, categories)

    def matches(self, text: str) -> list[tuple[int, int, int]]:
        """Every dictionary word in ``text`` as ``(start, end, category_mask)``."""
        words, found, n = self.words, [], len(text)
        for i in range(n):
            for j in range(i + 1, min(n, i + self.max_word_len) + 1):
                mask = words.get(text[i:j])
                if mask:
                    found.append((i, j, mask))
        return found

    def features(self, text: str) -> np.ndarray:
        """A ``[len(text), width]`` float32 0/1 matrix of (category, B/M/E/S) memberships."""
        feats = np.zeros((len(text), self.width), dtype=np.float32)
        npos = len(POSITIONS)
        for start, end, mask in self.matches(text):
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
