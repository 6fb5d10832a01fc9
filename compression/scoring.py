"""Scoring a recognizer against gold sentences (exact span and type), and reading gold sets written as markup."""
from __future__ import annotations

from pathlib import Path

import raner
from raner.markup import read_marked_file
from raner.spans import spans_to_tags, tags_to_spans

from .data import Sentence
from .metrics import score_spans


def evaluate(rec: raner.Recognizer, sentences: list[Sentence]) -> dict:
    """Precision, recall and F1 of the recognizer's entities against the gold tags, overall and per type."""
    pred = rec.predict_batch([s.text for s in sentences])
    gold = [tags_to_spans(s.tags) for s in sentences]
    return score_spans(gold, [[(e.type, e.start, e.end) for e in ents] for ents in pred])


def read_markup(path: Path) -> list[Sentence]:
    """Sentences from inline markup (``[马云|PER]在...``) as tagged sentences."""
    return [Sentence(text, spans_to_tags([(e.type, e.start, e.end) for e in ents], len(text)))
            for text, ents in read_marked_file(path)]
