"""Splitting text into model-sized pieces: at sentence ends, then long sentences at weaker breaks."""
from __future__ import annotations

SENTENCE_END = set("。！？!?\n")
WEAK_BREAKS = (set("；;"), set("，,、：:）)」』》” "))


def chunk_spans(text: str, max_length: int) -> list[tuple[int, int]]:
    """Cover ``text`` with consecutive ``(start, end)`` pieces of at most ``max_length`` characters.

    Each sentence (ending in 。！？ or a line break) is its own piece, so an entity never depends
    on the text around its sentence. A longer sentence ends its pieces after the last ；, else
    the last ，、 or space, else at the window's edge. The pieces tile the text: nothing is dropped.
    """
    if max_length < 1:
        raise ValueError("max_length must be positive")
    spans: list[tuple[int, int]] = []
    start = 0
    for i, ch in enumerate(text):
        if ch in SENTENCE_END:
            spans.extend(_window(text, start, i + 1, max_length))
            start = i + 1
    spans.extend(_window(text, start, len(text), max_length))
    return spans


def _window(text: str, start: int, stop: int, max_length: int) -> list[tuple[int, int]]:
    out = []
    while start < stop:
        end = min(start + max_length, stop)
        if end < stop:
            end = _break_point(text, start, end)
        out.append((start, end))
        start = end
    return out


def _break_point(text: str, start: int, end: int) -> int:
    for marks in WEAK_BREAKS:
        for i in range(end - 1, start, -1):
            if text[i] in marks:
                return i + 1
    return end
