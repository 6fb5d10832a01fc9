"""Entity substitution: swap an entity for another of the same type so the model sees more names."""
from __future__ import annotations

import random
from collections import defaultdict

from raner.spans import tags_to_spans

from .data import Sentence


def entity_pool(sentences: list[Sentence]) -> dict[str, list[str]]:
    """All entity strings of the training data, by type (with repeats, so sampling follows frequency)."""
    pool: dict[str, list[str]] = defaultdict(list)
    for s in sentences:
        for kind, a, b in tags_to_spans(s.tags):
            pool[kind].append(s.text[a:b])
    return dict(pool)


def add_lexicon_entities(pool: dict[str, list[str]], lexicon_file, kinds=("PER", "LOC", "ORG")) -> dict[str, list[str]]:
    """Add the typed words of a lexicon file (``word<TAB>CATS...``) to the pool, once each."""
    out = {k: list(v) for k, v in pool.items()}
    with open(lexicon_file, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            for kind in (parts[1].split(",") if len(parts) > 1 else ()):
                if kind in kinds:
                    out.setdefault(kind, []).append(parts[0])
    return out


def substitute(sentence: Sentence, pool: dict[str, list[str]], rng: random.Random, rate: float = 0.5) -> Sentence:
    """Replace each entity with probability ``rate`` by a random pool entity of its type."""
    text, tags, pos = [], [], 0
    for kind, a, b in tags_to_spans(sentence.tags):
        text.append(sentence.text[pos:a])
        tags.extend(sentence.tags[pos:a])
        new = rng.choice(pool[kind]) if rng.random() < rate and pool.get(kind) else sentence.text[a:b]
        text.append(new)
        tags.extend([f"B-{kind}"] + [f"I-{kind}"] * (len(new) - 1))
        pos = b
    text.append(sentence.text[pos:])
    tags.extend(sentence.tags[pos:])
    return Sentence("".join(text), tags)
