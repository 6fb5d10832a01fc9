"""Building the character and bigram vocabularies from training text."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from raner.features import SPECIALS, bigram_keys, char_key


def build_char_vocab(texts: Iterable[str], min_count: int = 1) -> list[str]:
    """BERT-style: the special tokens, then characters by descending frequency."""
    counts = Counter(char_key(c) for t in texts for c in t)
    return list(SPECIALS) + [c for c, n in counts.most_common() if n >= min_count and c not in SPECIALS]


def build_bigram_vocab(texts: Iterable[str], min_count: int = 2) -> list[str]:
    """[PAD], [UNK], then bigrams seen at least ``min_count`` times, most frequent first."""
    counts = Counter(k for t in texts for k in bigram_keys(t))
    return ["[PAD]", "[UNK]"] + [k for k, n in counts.most_common() if n >= min_count]
