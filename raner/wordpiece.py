"""BERT WordPiece tokenization that keeps character offsets, and the featurizer of BERT-style (sub-word) models.

The basic tokenizer follows BERT's rules: control characters are dropped, whitespace separates words, each
CJK ideograph and each punctuation character is a word of its own, and (with ``lowercase``) characters are
lowercased and stripped of accents. Each word is then cut greedily into the longest vocabulary pieces
(``##`` marks a continuation); a word with a piece outside the vocabulary, or longer than 100 characters,
becomes one ``[UNK]``. The decoded units are these words: the network's emission at a word's first
piece is the word's tag score, as in ModelScope's RaNER (its ``label_mask``).

Folding (lowercase + accents) is done character by character, so every piece knows which input characters
it came from; this differs from BERT's whole-string folding only for Greek final sigma.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import ModelError
from .features import PAD, UNK, Encoded, read_table

CLS, SEP = "[CLS]", "[SEP]"
CONTINUATION = "##"
MAX_WORD_CHARS = 100
MAX_PIECES_PER_CHAR = 3  # a Hangul syllable decomposes into three jamo; no character folds into more

_CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
               (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def is_cjk(ch: str) -> bool:
    """Whether ``ch`` is a CJK ideograph, which BERT always treats as a word of its own."""
    cp = ord(ch)
    return any(a <= cp <= b for a, b in _CJK_RANGES)


def is_punctuation(ch: str) -> bool:
    """BERT's punctuation: every non-alphanumeric printable ASCII character, and Unicode category P*."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_whitespace(ch: str) -> bool:
    """Word separators: space, tab, line breaks and Unicode space separators."""
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_dropped(ch: str) -> bool:
    """Characters BERT removes before tokenizing: NUL, U+FFFD and category C* (control, format, private, unassigned)."""
    return ch in "\x00\ufffd" or (ch not in "\t\n\r" and unicodedata.category(ch).startswith("C"))


@lru_cache(maxsize=65536)
def fold(ch: str, lowercase: bool) -> str:
    """What one input character becomes before WordPiece: lowercased and without combining accents."""
    if not lowercase:
        return ch
    decomposed = unicodedata.normalize("NFD", ch.lower())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


@dataclass(frozen=True)
class Word:
    """One basic-tokenizer word: its folded text and the input characters ``start..end`` it covers."""

    text: str
    start: int
    end: int


def basic_words(text: str, lowercase: bool = True) -> list[Word]:
    """Split ``text`` into BERT's basic words, each with the character range it came from."""
    words: list[Word] = []
    buf: list[str] = []
    start = end = -1

    def flush() -> None:
        nonlocal start
        if buf:
            words.append(Word("".join(buf), start, end))
            buf.clear()
        start = -1

    for i, ch in enumerate(text):
        if is_whitespace(ch):
            flush()
            continue
        if is_dropped(ch):
            continue  # inside a word it is still covered: a word spans its first to its last character
        if is_cjk(ch):
            flush()
            words.append(Word(fold(ch, lowercase), i, i + 1))
            continue
        folded = fold(ch, lowercase)
        if not folded and start >= 0:
            end = i + 1  # a combining accent stays with its letter, also at the end of a word
        for f in folded:
            if is_punctuation(f):
                flush()
                words.append(Word(f, i, i + 1))
            else:
                if start < 0:
                    start = i
                buf.append(f)
                end = i + 1
    flush()
    return words


class WordPiece:
    """Greedy longest-match-first WordPiece over a fixed vocabulary, with a cache of seen words."""

    def __init__(self, vocab: dict[str, int], unk: str = UNK, max_word_chars: int = MAX_WORD_CHARS,
                 cache_size: int = 100_000):
        self.vocab, self.unk = vocab, vocab[unk]
        self.max_word_chars, self._cache_size = max_word_chars, cache_size
        self._cache: dict[str, list[int]] = {}

    def ids(self, word: str) -> list[int]:
        """Piece ids of one basic word (``[UNK]`` alone if it cannot be covered)."""
        hit = self._cache.get(word)
        if hit is None:
            hit = self._split(word)
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[word] = hit
        return hit

    def _split(self, word: str) -> list[int]:
        if len(word) > self.max_word_chars:
            return [self.unk]
        out, start, vocab = [], 0, self.vocab
        while start < len(word):
            prefix = CONTINUATION if start else ""
            for end in range(len(word), start, -1):
                piece = vocab.get(prefix + word[start:end])
                if piece is not None:
                    out.append(piece)
                    start = end
                    break
            else:
                return [self.unk]
        return out


class WordPieceFeaturizer:
    """Normalized text -> [CLS] pieces [SEP] ids, one decoded unit per basic word (duck-types ``Featurizer``)."""

    def __init__(self, vocab: dict[str, int], lowercase: bool = True, max_tokens: int = 512):
        missing = [s for s in (PAD, UNK, CLS, SEP) if s not in vocab]
        if missing:
            raise ValueError(f"WordPiece vocabulary lacks {', '.join(missing)}")
        self.vocab, self.lowercase, self.max_tokens = vocab, lowercase, max_tokens
        self.unk, self.pad, self.cls, self.sep = vocab[UNK], vocab[PAD], vocab[CLS], vocab[SEP]
        self.pieces = WordPiece(vocab)

    @classmethod
    def from_inputs(cls, manifest, inputs: dict) -> WordPieceFeaturizer:
        """The featurizer a manifest's ``inputs`` describe:
        ``{"kind": "wordpiece", "vocab", "lowercase", "max_tokens"}``."""
        path = manifest.file(inputs.get("vocab", "vocab.txt"))
        try:
            return cls(read_table(path), bool(inputs.get("lowercase", True)), int(inputs.get("max_tokens", 512)))
        except (OSError, ValueError, UnicodeDecodeError) as e:
            raise ModelError(f"cannot read the WordPiece vocabulary {path} ({type(e).__name__}: {e})") from None

    def tokenize(self, text: str) -> tuple[list[int], list[int], list[tuple[int, int]]]:
        """Token ids with [CLS]/[SEP], each word's first-token index, and each word's character range."""
        ids, positions, units = [self.cls], [], []
        get, unk, lower = self.vocab.get, self.unk, self.lowercase
        for w in basic_words(text, lower):
            positions.append(len(ids))
            units.append((w.start, w.end))
            if len(w.text) == 1 and is_cjk(w.text):
                ids.append(get(w.text, unk))
            else:
                ids.extend(self.pieces.ids(w.text))
        ids.append(self.sep)
        return ids, positions, units

    def encode(self, text: str) -> Encoded:
        """Model inputs of one already-normalized text piece.

        Raises ValueError if the piece needs more than ``max_tokens`` tokens: the runtime cuts text into
        pieces of the manifest's ``max_length`` characters, chosen so that this cannot happen
        (``max_length * MAX_PIECES_PER_CHAR + 2 <= max_tokens``); text is never silently truncated.
        """
        ids, positions, units = self.tokenize(text)
        if len(ids) > self.max_tokens:
            raise ValueError(f"a text piece of {len(text)} characters makes {len(ids)} WordPiece tokens, more than the "
                             f"model's {self.max_tokens}; lower max_length in the model's manifest.json "
                             f"(at most {(self.max_tokens - 2) // MAX_PIECES_PER_CHAR} is always safe)")
        n = len(ids)
        return Encoded(np.asarray(ids, dtype=np.int64), np.zeros(n, dtype=np.int64), np.zeros((n, 0), dtype=np.float32),
                       positions=np.asarray(positions, dtype=np.int64), units=units)

    def batch(self, items: Sequence[Encoded]) -> dict[str, np.ndarray]:
        """Pad a batch into the network's named inputs (input_ids, attention_mask, token_type_ids)."""
        steps = max((len(e) for e in items), default=0) or 1
        ids = np.full((len(items), steps), self.pad, dtype=np.int64)
        mask = np.zeros((len(items), steps), dtype=np.int64)
        for b, e in enumerate(items):
            ids[b, : len(e)] = e.ids
            mask[b, : len(e)] = 1
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def safe_max_length(max_tokens: int) -> int:
    """The longest text piece (in characters) that can never exceed ``max_tokens`` tokens."""
    return (max_tokens - 2) // MAX_PIECES_PER_CHAR
