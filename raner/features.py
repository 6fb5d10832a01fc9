"""Text to model inputs: character ids, character-bigram ids and lexicon features."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bigrams import BigramTable
from .lac_tokens import LacTokenizer
from .lexicon import Lexicon
from .packed import code_points

PAD, UNK, CLS, SEP, SPACE = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[SPACE]"
SPECIALS = (PAD, UNK, CLS, SEP, SPACE)
END = "\ue000"  # stands for "past the end" as the second half of the last bigram
_END_CODE = np.array([ord(END)], dtype=np.int64)


def read_table(path: str | Path) -> dict[str, int]:
    """A vocabulary file, one entry per line, the line number is the id (lines are not stripped)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last entry; it does not start an empty one
    return dict(zip(lines, range(len(lines))))


def write_table(path: str | Path, entries: Sequence[str]) -> None:
    """Write a vocabulary file readable by ``read_table``."""
    with open(path, "w", encoding="utf-8") as f:
        for e in entries:
            if "\n" in e:
                raise ValueError(f"vocabulary entry {e!r} contains a newline")
            f.write(e + "\n")


def char_key(ch: str) -> str:
    """The vocabulary key of a normalized character."""
    return SPACE if ch == " " else ch


def bigram_keys(text: str) -> list[str]:
    """``text[i] + text[i+1]`` for each position, the last paired with the END mark."""
    return [text[i] + (text[i + 1] if i + 1 < len(text) else END) for i in range(len(text))]


@dataclass
class Encoded:
    """One normalized text's model inputs, unpadded.

    ``ids`` has one entry per time step: a character id, or a sub-word model's token id. ``positions``/``units``
    serve sub-word models: the time steps whose emissions are decoded, and the ``(start, end)`` character range
    each decoded unit covers. ``None`` means one step per character.
    """

    ids: np.ndarray
    bigrams: np.ndarray
    lexicon: np.ndarray
    lexwords: np.ndarray | None = None
    positions: np.ndarray | None = None
    units: list[tuple[int, int]] | None = None
    lac_ids: np.ndarray | None = None  # LAC's tokens (words and characters) and, per character, its token
    lac_index: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_units(self) -> int:
        return len(self.ids) if self.positions is None else len(self.positions)

    def char_span(self, a: int, b: int) -> tuple[int, int]:
        """Character range of decoded units ``a..b`` (end exclusive)."""
        return (a, b) if self.units is None else (self.units[a][0], self.units[b - 1][1])


def unit_positions(encoded: Sequence[Encoded]) -> tuple[np.ndarray, np.ndarray]:
    """The time step of each decoded unit of a padded batch, left-aligned ``[B, U]`` (0 past a text's end), and the
    mask of real units: how a sub-word model's emissions are gathered, in numpy (runtime) and torch (training) alike."""
    width = max((e.n_units for e in encoded), default=0) or 1
    index = np.zeros((len(encoded), width), dtype=np.int64)
    mask = np.zeros((len(encoded), width), dtype=bool)
    for i, e in enumerate(encoded):
        pos = np.arange(len(e)) if e.positions is None else e.positions
        index[i, : len(pos)], mask[i, : len(pos)] = pos, True
    return index, mask


class Featurizer:
    """Maps normalized text to ids; which inputs exist is decided by the model directory's files."""

    def __init__(self, chars: dict[str, int], bigrams: BigramTable | dict[str, int] | None = None,
                 lexicon: Lexicon | None = None, lac: LacTokenizer | None = None):
        for special in (PAD, UNK):
            if special not in chars:
                raise ValueError(f"character vocabulary lacks {special}")
        if isinstance(bigrams, dict):
            bigrams = BigramTable.from_dict(bigrams)
        self.chars, self.bigrams, self.lexicon, self.lac = chars, bigrams, lexicon, lac
        self.unk = chars[UNK]
        self._char_ids = {**chars, " ": chars.get(char_key(" "), self.unk)}  # keyed by the character itself
        self.bigram_unk = bigrams.get(UNK, 1) if bigrams is not None and len(bigrams) else 0

    @property
    def lexicon_width(self) -> int:
        return self.lexicon.width if self.lexicon else 0

    def encode(self, text: str) -> Encoded:
        """Ids for an already-normalized text (one id per character)."""
        get, unk = self._char_ids.get, self.unk
        chars = np.array([get(c, unk) for c in text], dtype=np.int64)
        if self.bigrams is not None:
            codes = code_points(text)
            following = np.concatenate((codes[1:], _END_CODE))[: len(codes)]
            bigrams = self.bigrams.lookup(codes, following, self.bigram_unk)
        else:
            bigrams = np.zeros(len(text), dtype=np.int64)
        lexwords = None
        if self.lexicon is not None:
            lex, lexwords = self.lexicon.encode(text)
        else:
            lex = np.zeros((len(text), 0), dtype=np.float32)
        encoded = Encoded(chars, bigrams, lex, lexwords)
        if self.lac is not None:
            tokens = self.lac.encode(text)
            encoded.lac_ids, encoded.lac_index = tokens.ids, tokens.index
        return encoded

    def batch(self, items: Sequence[Encoded]) -> dict[str, np.ndarray]:
        """Pad a batch into the emission network's named inputs."""
        n = len(items)
        steps = max((len(e) for e in items), default=0) or 1
        chars = np.zeros((n, steps), dtype=np.int64)
        bigrams = np.zeros((n, steps), dtype=np.int64)
        lex = np.zeros((n, steps, self.lexicon_width), dtype=np.float32)
        lengths = np.zeros(n, dtype=np.int64)
        words = self.lexicon is not None and self.lexicon.has_word_ids
        set_size = self.lexicon.set_size if words else 1
        lexwords = np.zeros((n, steps, 4, set_size), dtype=np.int64)
        for b, e in enumerate(items):
            k = len(e)
            chars[b, :k], bigrams[b, :k], lex[b, :k], lengths[b] = e.ids, e.bigrams, e.lexicon, k
            if words:
                lexwords[b, :k] = e.lexwords
        out = {"chars": chars, "bigrams": bigrams, "lexicon": lex, "lengths": lengths, "lexwords": lexwords}
        if self.lac is not None:
            width = max((len(e.lac_ids) for e in items), default=0) or 1
            out["lac_ids"] = np.zeros((n, width), dtype=np.int64)
            out["lac_lengths"] = np.zeros(n, dtype=np.int64)
            out["lac_index"] = np.zeros((n, steps), dtype=np.int64)
            for b, e in enumerate(items):
                out["lac_ids"][b, : len(e.lac_ids)], out["lac_lengths"][b] = e.lac_ids, len(e.lac_ids)
                out["lac_index"][b, : len(e)] = e.lac_index
        return out
