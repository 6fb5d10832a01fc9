"""Tag sequences (BIO or BIOES) to entity spans, strict: ill-formed pieces yield no entity."""
from __future__ import annotations

from collections.abc import Sequence

SCHEMES = ("BIO", "BIOES")


def split_tag(tag: str) -> tuple[str, str]:
    """``'B-PER' -> ('B', 'PER')``; ``'O' -> ('O', '')``."""
    if tag == "O" or "-" not in tag:
        return "O", ""
    prefix, _, kind = tag.partition("-")
    return prefix, kind


def scheme_of(tags: Sequence[str]) -> str:
    """The scheme a tag sequence or tag set is written in: BIOES if it uses S-X or E-X, else BIO."""
    return "BIOES" if any(split_tag(t)[0] in ("S", "E") for t in tags) else "BIO"


def tags_to_spans(tags: Sequence[str], scheme: str = "BIO") -> list[tuple[str, int, int]]:
    """Return ``(type, start, end)`` for each well-formed entity, end exclusive.

    BIO: ``B-X`` then any number of ``I-X``. BIOES: ``S-X`` alone, or ``B-X``, ``I-X``*, ``E-X``.
    A piece that does not fit (an ``I-X`` after ``O``, a BIOES entity never closed by ``E``)
    yields nothing, as in seqeval's strict mode.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown tag scheme {scheme!r}; expected one of {SCHEMES}")
    closes_open = scheme == "BIO"
    spans: list[tuple[str, int, int]] = []
    kind, start = "", -1
    for i, tag in enumerate(tags):
        prefix, cur = split_tag(tag)
        continues = start >= 0 and cur == kind
        if prefix == "I" and continues:
            continue
        if prefix == "E" and continues and not closes_open:
            spans.append((kind, start, i + 1))
            kind, start = "", -1
            continue
        if start >= 0 and closes_open:
            spans.append((kind, start, i))
        kind, start = "", -1
        if prefix == "B":
            kind, start = cur, i
        elif prefix == "S" and not closes_open:
            spans.append((cur, i, i + 1))
    if start >= 0 and closes_open:
        spans.append((kind, start, len(tags)))
    return spans


def trim_spaces(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` moved inward past spaces at either edge of ``text[start:end]`` (empty when it is all space):
    an entity never begins or ends with a space (docs/GUIDELINES.md), though one may hold a space (Sam Altman)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def spans_to_tags(spans: Sequence[tuple[str, int, int]], n: int, scheme: str = "BIO") -> list[str]:
    """The inverse of ``tags_to_spans``: tags of ``n`` positions holding non-overlapping (type, start, end) spans."""
    tags = ["O"] * n
    for kind, a, b in spans:
        if scheme == "BIOES" and b - a == 1:
            tags[a] = f"S-{kind}"
            continue
        tags[a] = f"B-{kind}"
        for i in range(a + 1, b):
            tags[i] = f"I-{kind}"
        if scheme == "BIOES":
            tags[b - 1] = f"E-{kind}"
    return tags


def allowed_transition(prev: str, cur: str, scheme: str = "BIO") -> bool:
    """Whether tag ``cur`` may follow tag ``prev`` (``prev='START'``/``cur='END'`` for the edges)."""
    pp, pk = ("O", "") if prev == "START" else split_tag(prev)
    cp, ck = ("O", "") if cur == "END" else split_tag(cur)
    inside = pp in ("B", "I") and prev != "START"
    if scheme == "BIO":
        return cp != "I" or (inside and pk == ck)
    # BIOES: after B/I must come I/E of the same type; I/E need an open B/I of the same type.
    if inside:
        return cp in ("I", "E") and pk == ck
    return cp in ("O", "B", "S")
