"""The Entity record every part of the runtime returns."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    """A named entity: ``text == source[start:end]`` (Python string indices, end exclusive)."""

    text: str
    type: str
    start: int
    end: int

    def to_dict(self) -> dict:
        """The seed contract's JSON form: text, type, start, end."""
        return {"text": self.text, "type": self.type, "start": self.start, "end": self.end}
