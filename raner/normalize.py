"""Per-character normalization: one output character per input character, so offsets never move.

Full-width ASCII forms become half-width, any whitespace a plain space, and traditional characters their
simplified form by ``raner/data/t2s.tsv`` (one character to one character; built by scripts/t2s_table.py from
OpenCC's table, see raner/data/README.md). The three mappings touch disjoint characters, so one ``str.translate``
table applies them all; it is built once, on first use.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

_FULLWIDTH_START, _FULLWIDTH_END, _FULLWIDTH_SHIFT = 0xFF01, 0xFF5E, 0xFEE0
_LAST_SPACE = 0x3000  # IDEOGRAPHIC SPACE: no code point above it is whitespace to str.isspace
T2S_FILE = "t2s.tsv"


def read_t2s() -> dict[str, str]:
    """The traditional -> simplified pairs of raner/data/t2s.tsv (``#`` lines are its header)."""
    text = resources.files(__package__).joinpath("data", T2S_FILE).read_text(encoding="utf-8")
    pairs = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            source, target = line.split("\t")
            if len(source) != 1 or len(target) != 1:
                raise ValueError(f"{T2S_FILE}: not one character to one character: {line!r}")
            pairs[source] = target
    return pairs


@lru_cache(maxsize=1)
def translation_table() -> dict[int, str]:
    """Code point -> replacement for every character that normalization changes (read once)."""
    table = {ord(s): t for s, t in read_t2s().items()}
    table.update({code: chr(code - _FULLWIDTH_SHIFT) for code in range(_FULLWIDTH_START, _FULLWIDTH_END + 1)})
    table.update({code: " " for code in range(_LAST_SPACE + 1) if chr(code).isspace() and code != 0x20})
    return table


def normalize_char(ch: str) -> str:
    """Full-width ASCII to half-width, any whitespace to a plain space, traditional to simplified."""
    return ch.translate(translation_table())


def normalize(text: str) -> str:
    """Normalize ``text`` character by character; ``len(normalize(t)) == len(t)`` always."""
    return text.translate(translation_table())
