"""Model inputs on the build side: the runtime's own featurizer over a run folder's files, and torch batches from it,
so training sees exactly the ids the served model will see."""
from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from raner.features import Featurizer, read_table
from raner.lac_tokens import LacTokenizer
from raner.lexicon import Lexicon

from .gazetteer import categories_for
from .model import WORD_SET_SIZE


def featurizer_for(out: Path, use_bigrams: bool, lexicon_width: int, set_size: int = WORD_SET_SIZE,
                   bigrams_file: str = "bigrams.txt") -> Featurizer:
    """The runtime's featurizer over the files written to ``out`` (``lexicon_width`` 0: no lexicon)."""
    bigrams = read_table(out / bigrams_file) if use_bigrams else None
    lac = LacTokenizer.read(out / "lac_tokens.npz") if (out / "lac_tokens.npz").is_file() else None
    lexicon = Lexicon.read(out / "lexicon.tsv", categories_for(lexicon_width), set_size) if lexicon_width else None
    return Featurizer(read_table(out / "vocab.txt"), bigrams, lexicon, lac)


def to_torch(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """A featurizer's padded numpy batch as torch tensors (shared memory, no copy)."""
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def pad_tags(tags: Sequence[Sequence[int]], shape: tuple[int, int]) -> torch.Tensor:
    """Gold tag ids left-aligned in a ``[B, T]`` long tensor (0 past each sequence's end)."""
    gold = torch.zeros(shape, dtype=torch.long)
    for i, t in enumerate(tags):
        gold[i, : len(t)] = torch.tensor(t, dtype=torch.long)
    return gold


def to_tensors(feat: Featurizer, texts: list[str], tags: list[list[int]] | None = None):
    """Encode and pad a batch of normalized texts into torch inputs (and, given tags, the padded gold tags)."""
    batch = to_torch(feat.batch([feat.encode(t) for t in texts]))
    if tags is None:
        return batch
    return batch, pad_tags(tags, tuple(batch["chars"].shape))


def batches_by_length(n_items: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Group indices of similar length together, then shuffle the groups."""
    order = sorted(range(len(n_items)), key=lambda i: (n_items[i], rng.random()))
    groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(groups)
    return groups
