"""Character-level gold tags (CoNLL) to word-level tags of a sub-word model, in the model's own tag scheme.

A sub-word model tags basic words (each CJK character, each Latin word or number, each punctuation mark).
Gold entities are taken as character spans and each is moved to the words it touches; entities of types
the model does not know are left out.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from raner.features import Encoded
from raner.normalize import normalize
from raner.spans import scheme_of, spans_to_tags, tags_to_spans

from ..data import Sentence


def unit_tags(char_tags: Sequence[str], units: Sequence[tuple[int, int]], labels: Sequence[str],
              scheme: str) -> list[int]:
    """Label ids, one per unit, of the gold entities in ``char_tags`` moved onto ``units`` (character ranges)."""
    owner = {}
    for u, (a, b) in enumerate(units):
        for c in range(a, b):
            owner[c] = u
    known = {t.split("-", 1)[1] for t in labels if "-" in t}
    spans, taken = [], set()
    for kind, a, b in tags_to_spans(list(char_tags), scheme_of(char_tags)):
        covered = sorted({owner[c] for c in range(a, b) if c in owner})
        if kind not in known or not covered or taken & set(range(covered[0], covered[-1] + 1)):
            continue
        spans.append((kind, covered[0], covered[-1] + 1))
        taken.update(range(covered[0], covered[-1] + 1))
    index = {t: i for i, t in enumerate(labels)}
    return [index.get(t, index.get("O", 0)) for t in spans_to_tags(spans, len(units), scheme)]


@dataclass
class Example:
    """One training sentence for a sub-word model: its encoded inputs and one label id per unit."""

    text: str
    encoded: Encoded
    tags: list[int]


def make_examples(sentences: Sequence[Sentence], feat, labels: Sequence[str], scheme: str) -> list[Example]:
    """Encode gold sentences with the runtime's featurizer and move their tags onto its units.

    Sentences without units and sentences too long for the model are skipped.
    """
    out = []
    for s in sentences:
        text = normalize(s.text)
        try:
            enc = feat.encode(text)
        except ValueError:
            continue
        if enc.n_units:
            out.append(Example(text, enc, unit_tags(s.tags, enc.units, labels, scheme)))
    return out
