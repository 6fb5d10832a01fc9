"""Character-bigram vocabulary as sorted integer keys: two code points packed in 42 bits, looked up for a whole text
with one ``searchsorted``. A dict of 181k two-character strings costs about 28 MB of RAM; these arrays about 3 MB."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .packed import code_points, ragged_lines, text_of

_SHIFT = 21  # code points are below 2**21


class BigramTable:
    """Bigram string -> id. Entries that are not two characters (``[PAD]``, ``[UNK]``) live in a small dict."""

    def __init__(self, keys: np.ndarray, ids: np.ndarray, others: dict[str, int]):
        order = np.argsort(keys, kind="stable")
        keys, ids = keys[order], ids[order]
        last = np.append(keys[1:] != keys[:-1], True) if len(keys) else np.zeros(0, dtype=bool)
        self._keys, self._ids, self._others = keys[last], ids[last], others  # a repeated entry: the later id wins
        self._size = len(self._keys) + len(others)

    @classmethod
    def from_dict(cls, table: dict[str, int]) -> BigramTable:
        pairs = [(k, i) for k, i in table.items() if len(k) == 2]
        keys = np.array([ord(k[0]) << _SHIFT | ord(k[1]) for k, _ in pairs], dtype=np.int64)
        ids = np.array([i for _, i in pairs], dtype=np.int64)
        return cls(keys, ids, {k: i for k, i in table.items() if len(k) != 2})

    @classmethod
    def read(cls, path: str | Path) -> BigramTable:
        """A vocabulary file (one entry per line, the line number is the id), without a string per line."""
        with open(path, encoding="utf-8") as f:
            return cls._build(f.read())

    @classmethod
    def _build(cls, text: str) -> BigramTable:
        codes, starts, lengths = ragged_lines(text)
        pairs = np.flatnonzero(lengths == 2)
        keys = codes[starts[pairs]] << _SHIFT | codes[starts[pairs] + 1]
        others = {text_of(codes, starts[i], lengths[i]): int(i) for i in np.flatnonzero(lengths != 2)}
        return cls(keys, pairs.astype(np.int64), others)

    def __len__(self) -> int:
        return self._size

    def get(self, key: str, default: int | None = None) -> int | None:
        if len(key) != 2:
            return self._others.get(key, default)
        codes = code_points(key)
        found = self.lookup(codes[:1], codes[1:], -1)[0]
        return default if found < 0 else int(found)

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def lookup(self, first: np.ndarray, second: np.ndarray, default: int) -> np.ndarray:
        """Ids of the bigrams ``first[i] second[i]`` (code points), ``default`` where a bigram is not in the table."""
        keys = first << _SHIFT | second
        if not len(self._keys):
            return np.full(len(keys), default, dtype=np.int64)
        at = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        return np.where(self._keys[at] == keys, self._ids[at], default)

