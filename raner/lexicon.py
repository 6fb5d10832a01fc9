"""Dictionary-match features: which typed dictionary words cover each character, and where.

Two outputs per text: a 0/1 matrix of (category, B/M/E/S) memberships, and, when the words carry
embedding ids, the SoftLexicon-style word sets: for each character, the ids of up to ``set_size``
words that Begin, are in the Middle of, End, or are a Single-character word at it.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .packed import code_points, pack_strings, ragged_lines, text_of

POSITIONS = ("B", "M", "E", "S")


_MULTIPLIER = np.uint64(0x100000001B3)  # odd, so every step of the hash is a bijection of 64-bit values
_BIT = (1 << np.arange(8)).astype(np.uint8)  # a byte's eight bits, for the hash bitmap


class Lexicon:
    """Words with category bitmasks (and optional embedding ids), matched against text.

    Two file forms: ``lexicon.tsv`` (readable, ``word<TAB>CAT1,CAT2[<TAB>embedding id]``) and the packed
    ``lexicon.npz`` that ``write_packed`` makes from it, which loads several times faster (cold start).
    The words are held as 64-bit hashes in a sorted array (every hit checked against the word's own code points, so
    a collision can cost time, never a wrong match): 188k words take about 7 MB instead of 34 MB as a dict.
    """

    def __init__(self, words: dict[str, int], categories: Iterable[str], max_word_len: int | None = None,
                 word_ids: dict[str, int] | None = None, set_size: int = 4):
        word_ids = word_ids or {}
        table = {w: (words.get(w, 0), word_ids.get(w, 0)) for w in set(words) | set(word_ids)}
        self._from_table(table, tuple(categories), set_size, bool(word_ids), max_word_len)

    def _from_table(self, table: dict[str, tuple[int, int]], categories: tuple[str, ...], set_size: int,
                    has_ids: bool, max_word_len: int | None = None) -> None:
        words = [w for w in table if w]
        broken = next((w for w in words if "\n" in w or "\r" in w), None)
        if broken is not None:
            raise ValueError(f"lexicon word {broken[:20]!r} holds a line break; a word is one line of text")
        joined = "\n".join(words)
        codes, starts, lengths = ragged_lines(joined)
        masks = np.array([table[w][0] for w in words], dtype=np.int64)
        ids = np.array([table[w][1] for w in words], dtype=np.int64)
        self._init(codes, starts, lengths, masks, ids, categories, set_size, has_ids, max_word_len)

    def _init(self, codes: np.ndarray, starts: np.ndarray, lengths: np.ndarray, masks: np.ndarray, ids: np.ndarray,
              categories: tuple[str, ...], set_size: int, has_ids: bool, max_word_len: int | None = None) -> None:
        """Index non-empty words given as code points (``starts``/``lengths`` into ``codes``); a word listed twice
        keeps its later entry, as a dict would."""
        self.categories, self.set_size, self._has_ids = categories, set_size, has_ids
        self.max_word_len = max_word_len or int(lengths.max(initial=1))
        self._longest = longest = int(lengths.max(initial=0))
        for seed in range(1, 100):  # distinct words whose hashes collide: hash again with another seed
            hashes = np.full(len(starts), seed, dtype=np.uint64)
            for step in range(longest):
                rows = np.flatnonzero(lengths > step)
                hashes[rows] = _mix(hashes[rows], codes[starts[rows] + step].astype(np.uint64) + 1)
            order = np.argsort(hashes, kind="stable")  # equal hashes keep the file's order
            same = np.flatnonzero(hashes[order][1:] == hashes[order][:-1])
            if all(_same_word(codes, starts, lengths, order[i], order[i + 1]) for i in same):
                order = np.delete(order, same)  # a repeated word: the earlier entry goes
                break
        else:  # pragma: no cover - 99 seeds each with a 64-bit collision between two different words
            raise ValueError("lexicon words could not be hashed apart")
        self._seed = np.uint64(seed)
        self._hashes, self._masks, self._ids = hashes[order], masks[order], ids[order]
        # about 22 bits a word, so 19 of 20 substrings that are no word stop at this bitmap (cached between calls)
        # instead of a binary search over the words (main memory by then: the network ran in between)
        self._filter_shift = np.uint64(64 - max(6, int(np.ceil(np.log2(max(len(order), 1) * 22)))))
        self._filter = np.zeros(1 << int(64 - self._filter_shift - 3), dtype=np.uint8)
        np.bitwise_or.at(self._filter, *self._filter_cells(self._hashes))
        self._starts, self._lengths = starts[order], lengths[order]
        self._codes = np.concatenate((codes, np.zeros(max(longest, 1), dtype=codes.dtype)))  # padded for gathers

    def __len__(self) -> int:
        return len(self._hashes)

    def _filter_cells(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each hash's byte in the bitmap and its bit there (the hash's top bits pick both)."""
        slot = hashes >> self._filter_shift
        return (slot >> np.uint64(3)).astype(np.intp), _BIT[(slot & np.uint64(7)).astype(np.intp)]

    def _word(self, k: int) -> str:
        return text_of(self._codes, int(self._starts[k]), int(self._lengths[k]))

    @property
    def words(self) -> dict[str, int]:
        """Category bitmask of every word that has one."""
        return {self._word(k): int(self._masks[k]) for k in np.flatnonzero(self._masks)}

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
        lex._from_table(table, categories, set_size, has_ids)
        return lex

    def with_masks(self, masks: dict[str, int]) -> Lexicon:
        """A copy with each given word's category mask OR-ed in (a new word gets no embedding id)."""
        table = {self._word(k): (int(self._masks[k]), int(self._ids[k])) for k in range(len(self))}
        for word, mask in masks.items():
            old_mask, wid = table.get(word, (0, 0))
            table[word] = (old_mask | mask, wid)
        lex = Lexicon.__new__(Lexicon)
        longest = max(self.max_word_len, max(map(len, masks), default=0))
        lex._from_table(table, self.categories, self.set_size, self._has_ids, longest)
        return lex

    def write_packed(self, path: str | Path) -> None:
        """Save as ``.npz``: the words joined by newlines (UTF-8 bytes), their masks and embedding ids."""
        words = [self._word(k) for k in range(len(self))]
        with open(path, "wb") as f:
            np.savez(f, words=pack_strings(words), masks=self._masks.astype(np.int32), ids=self._ids.astype(np.int32),
                     categories=np.array(self.categories), has_ids=np.array(self._has_ids),
                     max_word_len=np.array(self.max_word_len))

    def write_tsv(self, path: str | Path) -> None:
        """Save as ``word<TAB>CAT1,CAT2<TAB>embedding id`` lines (the readable form ``read`` takes; no id: empty)."""
        with open(path, "w", encoding="utf-8") as f:
            for k in range(len(self)):
                mask, wid = int(self._masks[k]), int(self._ids[k])
                cats = ",".join(c for i, c in enumerate(self.categories) if mask >> i & 1)
                f.write(f"{self._word(k)}\t{cats}\t{wid or ''}\n")

    @classmethod
    def _read_packed(cls, path: Path, categories: tuple[str, ...], set_size: int) -> Lexicon:
        with np.load(path, allow_pickle=False) as z:
            stored = tuple(str(c) for c in z["categories"])
            if stored != categories:
                raise ValueError(f"{path.name} was packed for categories {stored}, the manifest says {categories}")
            blob = z["words"].tobytes().decode("utf-8")
            codes, starts, lengths = ragged_lines(blob)
            masks, ids = z["masks"].astype(np.int64), z["ids"].astype(np.int64)
            if not (len(starts) == len(masks) == len(ids)):
                raise ValueError(f"{path.name}: {len(starts)} words but {len(masks)} masks and {len(ids)} ids")
            if np.any(lengths == 0):
                raise ValueError(f"{path.name}: an empty word")
            lex = cls.__new__(cls)
            lex._init(codes, starts, lengths, masks, ids, categories, set_size, bool(z["has_ids"]),
                      int(z["max_word_len"]))
        return lex

    def find(self, text: str) -> Matches:
        """Every dictionary word in ``text``, ordered by start then end."""
        n, longest = len(text), min(self.max_word_len, self._longest, len(text))
        if not longest or not len(self):
            return Matches.none()
        # padded[i] = text[i] + 1 (so that no code point hashes as nothing); hashes[i, s] is text[i : i + s + 1]'s
        padded = np.concatenate((code_points(text), np.zeros(longest - 1, dtype=np.int64))).astype(np.uint64) + 1
        hashes = np.empty((n, longest), dtype=np.uint64)
        hashes[:, 0] = _mix(np.full(n, self._seed), padded[:n])
        for step in range(1, longest):
            hashes[:, step] = _mix(hashes[:, step - 1], padded[step : step + n])
        wanted = hashes.ravel()
        byte, bit = self._filter_cells(wanted)
        maybe = np.flatnonzero(self._filter[byte] & bit)
        at = np.minimum(np.searchsorted(self._hashes, wanted[maybe]), len(self._hashes) - 1)
        found = self._hashes[at] == wanted[maybe]
        start, step = np.divmod(maybe[found], longest)
        k = at[found]
        # confirm each hit by its code points: the word has the length and the characters of the text it hashed to
        offsets = np.arange(longest)
        theirs = self._codes[self._starts[k][:, None] + offsets].astype(np.uint64) + 1
        same = ((padded[start[:, None] + offsets] == theirs) | (offsets > step[:, None])).all(axis=1)
        same &= (self._lengths[k] == step + 1) & (start + step < n)
        start, end, k = start[same], start[same] + step[same] + 1, k[same]
        return Matches(start, end, self._masks[k], self._ids[k])

    def matches(self, text: str) -> list[tuple[int, int, int, int]]:
        """Every dictionary word in ``text`` as ``(start, end, category_mask, embedding_id)``, by start then end."""
        return self.find(text).tuples()

    def features(self, text: str, found: Matches | None = None) -> np.ndarray:
        """A ``[len(text), width]`` float32 0/1 matrix of (category, B/M/E/S) memberships."""
        found = self.find(text) if found is None else found
        return self._features(len(text), found, _cells(found))

    def word_sets(self, text: str, found: Matches | None = None) -> np.ndarray:
        """``[len(text), 4, set_size]`` int64 embedding ids of the B/M/E/S word sets (0 pads); longer words first."""
        found = self.find(text) if found is None else found
        return self._word_sets(len(text), found, _cells(found))

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray | None]:
        """``features`` and (when the words carry embedding ids) ``word_sets`` of a text, its matches found once."""
        found = self.find(text)
        cells = _cells(found)
        sets = self._word_sets(len(text), found, cells) if self._has_ids else None
        return self._features(len(text), found, cells), sets

    def _features(self, n: int, found: Matches, cells: Cells) -> np.ndarray:
        feats = np.zeros((n, self.width), dtype=np.float32)
        has = (found.mask[cells.match, None] >> np.arange(len(self.categories))) & 1  # [cell, category]
        cell, cat = np.nonzero(has)
        feats[cells.pos[cell], cat * len(POSITIONS) + cells.kind[cell]] = 1.0
        return feats

    def _word_sets(self, n: int, found: Matches, cells: Cells) -> np.ndarray:
        k = self.set_size
        wid = found.ids[cells.match]
        take = np.flatnonzero(wid)  # cells of words with an embedding id
        cell, match, wid = (cells.pos * len(POSITIONS) + cells.kind)[take], cells.match[take], wid[take]
        # each cell's words: longer first, then in start-then-end order (the order of the matches), as one sort key
        lengths = found.end - found.start
        span, count = int(lengths.max(initial=0)) + 1, len(lengths)
        order = np.argsort((cell * span + span - 1 - lengths[match]) * count + match)
        cell, wid = cell[order], wid[order]
        slot = np.arange(len(cell)) - np.searchsorted(cell, cell)  # the word's place in its cell
        sets = np.zeros((n * len(POSITIONS), k + 1), dtype=np.int64)
        sets[cell, np.minimum(slot, k)] = wid  # words past the k-th land in a last column that is cut off
        return sets[:, :k].reshape(n, len(POSITIONS), k)


class Cells(NamedTuple):
    """Every (character, B/M/E/S) cell the matches of a text cover: the character, the match covering it, its kind."""

    pos: np.ndarray
    match: np.ndarray
    kind: np.ndarray


# a cell's B/M/E/S kind (its column in POSITIONS) by whether it is its word's first and last character: 2*last + first
_KIND = np.array([1, 0, 2, 3])


def _cells(found: Matches) -> Cells:
    start, lengths = found.start, found.end - found.start
    match = np.repeat(np.arange(len(start)), lengths)
    offset = np.arange(len(match)) - (np.cumsum(lengths) - lengths)[match]  # the cell's place in its word
    kind = _KIND[(offset == 0) + 2 * (offset == lengths[match] - 1)]
    return Cells(start[match] + offset, match, kind)


def _mix(hashes: np.ndarray, codes_plus_one: np.ndarray) -> np.ndarray:
    """One step of the word hash, the same for stored words and for the text's substrings: h = (h + code + 1) * m
    (wrapping at 64 bits)."""
    return (hashes + codes_plus_one) * _MULTIPLIER


def _same_word(codes: np.ndarray, starts: np.ndarray, lengths: np.ndarray, a: int, b: int) -> bool:
    return lengths[a] == lengths[b] and bool(np.array_equal(codes[starts[a] : starts[a] + lengths[a]],
                                                             codes[starts[b] : starts[b] + lengths[b]]))


class Matches(NamedTuple):
    """Dictionary words found in a text: parallel arrays of start, end (exclusive), category mask and embedding id."""

    start: np.ndarray
    end: np.ndarray
    mask: np.ndarray
    ids: np.ndarray

    @classmethod
    def none(cls) -> Matches:
        empty = np.zeros(0, dtype=np.int64)
        return cls(empty, empty, empty, empty)

    def tuples(self) -> list[tuple[int, int, int, int]]:
        return list(zip(self.start.tolist(), self.end.tolist(), self.mask.tolist(), self.ids.tolist()))
