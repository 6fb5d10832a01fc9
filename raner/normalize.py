"""Per-character normalization: one output character per input character, so offsets never move."""
from __future__ import annotations

_FULLWIDTH_START, _FULLWIDTH_END, _FULLWIDTH_SHIFT = 0xFF01, 0xFF5E, 0xFEE0


def normalize_char(ch: str) -> str:
    """Map full-width ASCII forms to half-width and any whitespace to a plain space."""
    code = ord(ch)
    if _FULLWIDTH_START <= code <= _FULLWIDTH_END:
        return chr(code - _FULLWIDTH_SHIFT)
    if ch.isspace():
        return " "
    return ch


def normalize(text: str) -> str:
    """Normalize ``text`` character by character; ``len(normalize(t)) == len(t)`` always."""
    return "".join(normalize_char(ch) for ch in text)
