"""Baidu LAC's own input: its dictionary segmentation of a text, as rows of its token-embedding table.

LAC reads a mix of words and characters: a dictionary segmentation (fewest pieces wins, longer pieces break
ties), runs of single ASCII letters and digits joined, and every piece that is in its vocabulary read as one
token, the rest one character at a time. Models whose LAC encoder reads words need the same view at run time;
``index`` maps each character back to the token that covers it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .packed import pack_strings, unpack_strings


def _is_ascii_alnum(piece: str) -> bool:
    return len(piece) == 1 and piece.isascii() and piece.isalnum()


@dataclass
class LacTokens:
    ids: np.ndarray  # [W] rows of LAC's embedding table
    index: np.ndarray  # [T] which token covers each character


class LacTokenizer:
    """Segments text with LAC's dictionary and maps pieces to LAC vocabulary rows."""

    def __init__(self, vocab: dict[str, int], seg_words: set[str], log_total: float, replace: dict[str, str], oov: int):
        self.vocab, self.seg_words, self.log_total, self.replace, self.oov = vocab, seg_words, log_total, replace, oov
        self.max_len = max(map(len, seg_words), default=1)

    def segment(self, text: str) -> list[str]:
        """Dictionary segmentation: best[i] = max over pieces text[i:j] of log(len) - log_total + best[j]."""
        n, words, cost, max_len = len(text), self.seg_words, self.log_total, self.max_len
        best = [(0.0, 0)] * (n + 1)
        for i in range(n - 1, -1, -1):
            choice = (-cost + best[i + 1][0], i + 1)
            for j in range(i + 2, min(n, i + max_len) + 1):
                if text[i:j] in words:
                    choice = max(choice, (math.log(j - i) - cost + best[j][0], j))
            best[i] = choice
        pieces, i, run = [], 0, ""
        while i < n:
            j = best[i][1]
            piece = text[i:j]
            if _is_ascii_alnum(piece):
                run += piece
            else:
                if run:
                    pieces.append(run)
                    run = ""
                pieces.append(piece)
            i = j
        if run:
            pieces.append(run)
        return pieces

    def encode(self, text: str) -> LacTokens:
        """Token rows for ``text`` and, per character, the index of its token."""
        ids: list[int] = []
        index = np.zeros(len(text), dtype=np.int64)
        pos = 0
        for piece in self.segment(text):
            if piece in self.vocab:
                index[pos : pos + len(piece)] = len(ids)
                ids.append(self.vocab.get(self.replace.get(piece, piece), self.oov))
            else:
                for k, ch in enumerate(piece):
                    index[pos + k] = len(ids)
                    ids.append(self.vocab.get(self.replace.get(ch, ch), self.oov))
            pos += len(piece)
        return LacTokens(np.asarray(ids, dtype=np.int64), index)

    def write(self, path: str | Path) -> None:
        """Save as ``.npz`` (vocabulary in row order, segmentation words, replacement pairs)."""
        rows = sorted(self.vocab, key=self.vocab.get)
        if [self.vocab[w] for w in rows] != list(range(len(rows))):
            raise ValueError("LAC vocabulary rows must be 0..n-1")
        pairs = sorted(self.replace.items())
        with open(path, "wb") as f:
            np.savez(f, vocab=pack_strings(rows), seg_words=pack_strings(sorted(self.seg_words)),
                     replace_from=pack_strings([a for a, _ in pairs]), replace_to=pack_strings([b for _, b in pairs]),
                     log_total=np.array(self.log_total), oov=np.array(self.oov))

    @classmethod
    def read(cls, path: str | Path) -> LacTokenizer:
        with np.load(path, allow_pickle=False) as z:
            rows = unpack_strings(z["vocab"])
            replace = dict(zip(unpack_strings(z["replace_from"]), unpack_strings(z["replace_to"])))
            seg_words = set(unpack_strings(z["seg_words"]))
            return cls({w: i for i, w in enumerate(rows)}, seg_words, float(z["log_total"]), replace, int(z["oov"]))
