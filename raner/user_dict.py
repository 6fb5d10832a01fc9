"""User dictionaries: strings that must come out as entities of a given type, without retraining.

Lines of ``词语 TYPE`` (or a mapping ``{"词语": "TYPE"}``). Matching is longest-first, left to right,
without overlaps, on normalized text (so full-width and half-width forms both match); where a
dictionary match overlaps a model entity, the dictionary wins.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from pathlib import Path

from .entity import Entity
from .normalize import normalize


class UserDictionary:
    """A word -> type table matched greedily (longest match at each position)."""

    def __init__(self, entries: Mapping[str, str] | Iterable[tuple[str, str]], types: Iterable[str] | None = None):
        items = entries.items() if isinstance(entries, Mapping) else entries
        allowed = set(types) if types is not None else None
        self.words: dict[str, str] = {}
        for word, kind in items:
            if not isinstance(word, str) or not isinstance(kind, str):
                raise ValueError(f"user dictionary entry must be a word and a type, got {word!r} {kind!r}")
            if not word.strip():
                continue  # a blank word can match nothing useful
            if allowed is not None and kind not in allowed:
                raise ValueError(f"user dictionary type {kind!r} for {word!r} is not one of {sorted(allowed)}")
            self.words[normalize(word)] = kind
        self._lengths = sorted({len(w) for w in self.words}, reverse=True)  # only lengths some word has are tried
        self.max_len = self._lengths[0] if self._lengths else 0

    @classmethod
    def read(cls, path: str | Path, types: Iterable[str] | None = None) -> UserDictionary:
        """Read a file of ``词语 TYPE`` lines (see ``parse``); errors name the file."""
        try:
            return cls.parse(Path(path).read_text(encoding="utf-8"), types)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None

    @classmethod
    def parse(cls, text: str, types: Iterable[str] | None = None) -> UserDictionary:
        """``词语 TYPE`` lines: the type is the last whitespace-separated field (the word may hold spaces);
        blank lines and ``#`` comments are skipped."""
        entries = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.strip().rsplit(None, 1)
            if len(parts) != 2:
                raise ValueError(f"line {n}: expected '词语 TYPE', got {line!r}")
            entries.append((parts[0].strip(), parts[1]))
        return cls(entries, types)

    def __len__(self) -> int:
        return len(self.words)

    def find(self, text: str) -> list[Entity]:
        """Non-overlapping dictionary matches in ``text``, longest first at each position."""
        if not self.words:
            return []
        norm, words, out, i, n = normalize(text), self.words, [], 0, len(text)
        while i < n:
            for j in (i + k for k in self._lengths if i + k <= n):
                kind = words.get(norm[i:j])
                if kind is not None:
                    out.append(Entity(text[i:j], kind, i, j, 1.0))
                    i = j
                    break
            else:
                i += 1
        return out

    def apply(self, text: str, entities: list[Entity]) -> list[Entity]:
        """Dictionary matches plus the model's entities that do not overlap any of them, in order."""
        forced = self.find(text)
        if not forced:
            return entities
        ends = [f.end for f in forced]  # the matches do not overlap, so their ends rise with their starts
        kept = []
        for e in entities:  # the first match ending after e starts is the only one that can overlap it first
            k = bisect_right(ends, e.start)
            if k == len(forced) or forced[k].start >= e.end:
                kept.append(e)
        return sorted(forced + kept, key=lambda e: e.start)
