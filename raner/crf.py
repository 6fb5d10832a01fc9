"""Linear-chain CRF decoding in numpy: batched Viterbi under tag-scheme constraints."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .spans import allowed_transition

FORBIDDEN = -1e4


@dataclass(frozen=True)
class CRF:
    """CRF scores: ``start[j]``, ``end[j]``, ``transitions[i, j]`` (from tag i to tag j)."""

    start: np.ndarray
    end: np.ndarray
    transitions: np.ndarray

    @classmethod
    def constrained(cls, start, end, transitions, labels: Sequence[str], scheme: str = "BIO") -> "CRF":
        """Copy the scores with forbidden moves (``O -> I-X`` and the like) set to a large negative."""
        start = np.asarray(start, dtype=np.float32).copy()
        end = np.asarray(end, dtype=np.float32).copy()
        trans = np.asarray(transitions, dtype=np.float32).copy()
        for j, cur in enumerate(labels):
            if not allowed_transition("START", cur, scheme):
                start[j] = FORBIDDEN
            if not allowed_transition(cur, "END", scheme):
                end[j] = FORBIDDEN
            for i, prev in enumerate(labels):
                if not allowed_transition(prev, cur, scheme):
                    trans[i, j] = FORBIDDEN
        return cls(start, end, trans)

    def viterbi(self, emissions: np.ndarray, lengths: Sequence[int]) -> list[np.ndarray]:
        """Best tag path for each sequence of a padded batch ``emissions[B, T, C]``."""
        emissions = np.asarray(emissions, dtype=np.float32)
        batch, steps, _ = emissions.shape
        lengths = np.asarray(lengths, dtype=np.int64)
        if batch == 0:
            return []
        score = self.start[None, :] + emissions[:, 0]
        back = np.zeros((max(steps - 1, 0), batch, emissions.shape[2]), dtype=np.int64)
        trans = self.transitions[None, :, :]
        for t in range(1, steps):
            cand = score[:, :, None] + trans
            best = cand.argmax(axis=1)
            new = np.take_along_axis(cand, best[:, None, :], axis=1)[:, 0] + emissions[:, t]
            live = (t < lengths)[:, None]
            score = np.where(live, new, score)
            back[t - 1] = best
        score = score + self.end[None, :]
        paths = []
        for b in range(batch):
            n = int(lengths[b])
            if n <= 0:
                paths.append(np.zeros(0, dtype=np.int64))
                continue
            path = np.empty(n, dtype=np.int64)
            path[-1] = int(score[b].argmax())
            for t in range(n - 2, -1, -1):
                path[t] = back[t, b, path[t + 1]]
            paths.append(path)
        return paths
