"""The Entity record every part of the runtime returns."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entity:
    """A named entity: ``text == source[start:end]`` (Python string indices, end exclusive).

    ``score`` is the CRF's probability that exactly this span is one entity of this type (None when
    not computed); it does not take part in equality, so results compare by what was found.
    """

    text: str
    type: str
    start: int
    end: int
    score: float | None = field(default=None, compare=False)

    def to_dict(self) -> dict:
        """The seed contract's JSON form (text, type, start, end), plus ``score`` when computed."""
        d = {"text": self.text, "type": self.type, "start": self.start, "end": self.end}
        if self.score is not None:
            d["score"] = round(self.score, 4)
        return d
