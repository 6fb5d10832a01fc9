"""Inline entity markup ``[马云|PER]在[杭州|LOC]``: parse it into text plus entities, or render entities as it."""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from .entity import Entity

_TAG = re.compile(r"\[([^\[\]|]+)\|([A-Z]+)\]")


def parse(marked: str) -> tuple[str, list[Entity]]:
    """``'[马云|PER]来了'`` -> ``('马云来了', [Entity('马云', 'PER', 0, 2)])``."""
    text, entities, pos = [], [], 0
    length = 0
    for m in _TAG.finditer(marked):
        plain = marked[pos : m.start()]
        text.append(plain)
        length += len(plain)
        word, kind = m.group(1), m.group(2)
        entities.append(Entity(word, kind, length, length + len(word)))
        text.append(word)
        length += len(word)
        pos = m.end()
    text.append(marked[pos:])
    return "".join(text), entities


def render(text: str, entities: Sequence[Entity]) -> str:
    """The inverse of ``parse`` for non-overlapping entities."""
    out, pos = [], 0
    for e in sorted(entities, key=lambda e: e.start):
        out.append(text[pos : e.start] + f"[{e.text}|{e.type}]")
        pos = e.end
    return "".join(out) + text[pos:]


def read_marked_file(path: str | Path) -> list[tuple[str, list[Entity]]]:
    """Parse every non-empty, non-``#`` line of a markup file."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [parse(line) for line in lines if line.strip() and not line.startswith("#")]
