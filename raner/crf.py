"""Linear-chain CRF decoding in numpy: batched Viterbi under tag-scheme constraints."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

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
    def constrained(cls, start, end, transitions, labels: Sequence[str], scheme: str = "BIO") -> CRF:
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

    @cached_property
    def _moves(self) -> tuple[tuple[tuple[int, float], ...], ...]:
        """For each tag, the tags that may precede it with the move's score (forbidden moves left out, unless
        nothing else may precede it)."""
        t = self.transitions.astype(np.float64).tolist()
        n = len(t)
        return tuple(
            tuple((i, t[i][j]) for i in range(n) if t[i][j] > FORBIDDEN / 2) or tuple((i, t[i][j]) for i in range(n))
            for j in range(n)
        )

    def viterbi(self, emissions: np.ndarray, lengths: Sequence[int]) -> list[np.ndarray]:
        """Best tag path for each sequence of a padded batch ``emissions[B, T, C]``.

        Scores add up in float64 on either route (one sequence in plain Python, a batch in numpy), so a text gets
        the same path alone or in a batch."""
        emissions = np.asarray(emissions, dtype=np.float32)
        batch, steps, _ = emissions.shape
        lengths = np.asarray(lengths, dtype=np.int64)
        if batch == 0:
            return []
        if batch == 1:
            return [self._viterbi_one(emissions[0, : int(lengths[0])])]
        emissions = emissions.astype(np.float64)
        score = self.start.astype(np.float64)[None, :] + emissions[:, 0]
        back = np.zeros((max(steps - 1, 0), batch, emissions.shape[2]), dtype=np.intp)
        trans = self.transitions.astype(np.float64)[None, :, :]
        ragged = bool((lengths != steps).any())
        for t in range(1, steps):
            cand = score[:, :, None] + trans
            back[t - 1] = cand.argmax(axis=1)
            new = cand.max(axis=1) + emissions[:, t]
            score = np.where((t < lengths)[:, None], new, score) if ragged else new
        score = score + self.end.astype(np.float64)[None, :]
        paths = []
        for b in range(batch):
            n = int(lengths[b])
            if n <= 0:
                paths.append(np.zeros(0, dtype=np.int64))
                continue
            path = [int(score[b].argmax())]
            column = back[: n - 1, b].tolist()
            for t in range(n - 2, -1, -1):
                path.append(column[t][path[-1]])
            paths.append(np.array(path[::-1], dtype=np.int64))
        return paths

    def _viterbi_one(self, em: np.ndarray) -> np.ndarray:
        """Viterbi for a single sequence in plain Python floats: with a handful of tags, list arithmetic beats
        numpy's per-call cost (about 2 µs a character against 4-5), and forbidden moves are never tried."""
        rows = em.astype(np.float64).tolist()
        if not rows:
            return np.zeros(0, dtype=np.int64)
        moves = self._moves
        score = [a + b for a, b in zip(self.start.astype(np.float64).tolist(), rows[0])]
        back = []
        for row in rows[1:]:
            new, came = [], []
            for j, options in enumerate(moves):
                best, arg = -np.inf, options[0][0]
                for i, move in options:
                    v = score[i] + move
                    if v > best:
                        best, arg = v, i
                new.append(best + row[j])
                came.append(arg)
            score = new
            back.append(came)
        final = [a + b for a, b in zip(score, self.end.astype(np.float64).tolist())]
        tag = final.index(max(final))
        path = [tag]
        for came in reversed(back):
            tag = came[tag]
            path.append(tag)
        return np.array(path[::-1], dtype=np.int64)


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def forward_backward(crf: CRF, emissions: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Log-space forward ``alpha[t, j]`` and backward ``beta[t, j]`` scores and ``log Z`` of one sequence.

    ``alpha[t, j]`` sums paths over positions ``0..t`` ending in tag ``j`` (emissions included);
    ``beta[t, j]`` sums continuations after ``t`` from tag ``j`` (end scores included). Computed in
    probability space with per-step rescaling (one small matrix product a step), returned as logs.
    """
    em = np.asarray(emissions[:length], dtype=np.float64)
    shift = em.max(axis=1, keepdims=True)
    e = np.exp(em - shift)
    trans = np.exp(crf.transitions.astype(np.float64))
    alpha = np.empty_like(e)
    beta = np.empty_like(e)
    log_scale = np.empty(length)
    a = np.exp(crf.start.astype(np.float64)) * e[0]
    for t in range(length):
        if t:
            a = (a @ trans) * e[t]
        c = a.sum()
        alpha[t] = a = a / c
        log_scale[t] = np.log(c) + shift[t, 0]
    cum = np.cumsum(log_scale)
    b = np.exp(crf.end.astype(np.float64))
    back_log = np.zeros(length)
    beta[length - 1] = b
    for t in range(length - 2, -1, -1):
        b = trans @ (e[t + 1] * b)
        c = b.sum()
        beta[t] = b = b / c
        back_log[t] = back_log[t + 1] + np.log(c) + shift[t + 1, 0]
    with np.errstate(divide="ignore"):
        log_alpha = np.log(alpha) + cum[:, None]
        log_beta = np.log(beta) + back_log[:, None]
    log_z = float(cum[-1] + np.log((alpha[-1] * np.exp(crf.end.astype(np.float64))).sum()))
    return log_alpha, log_beta, log_z


def marginals(crf: CRF, emissions: np.ndarray, length: int) -> np.ndarray:
    """``P(tag_t = j | text)`` for each position: rows sum to 1."""
    alpha, beta, log_z = forward_backward(crf, emissions, length)
    return np.exp(alpha + beta - log_z)


def span_probability(crf: CRF, tables: tuple[np.ndarray, np.ndarray, float], emissions: np.ndarray,
                     path: np.ndarray, start: int, end: int, stop_tags: frozenset[int]) -> float:
    """Probability that tags ``start..end`` are exactly ``path[start:end]`` and the tag after it is not in
    ``stop_tags``.

    For BIO, ``stop_tags`` is ``{I-X}``: the entity must end where it does, so this is the
    probability of the whole span being one entity with these exact boundaries and type.
    """
    alpha, beta, log_z = tables
    length = alpha.shape[0]
    score = alpha[start, path[start]]
    for t in range(start + 1, end):
        score += crf.transitions[path[t - 1], path[t]] + emissions[t, path[t]]
    if end < length:
        nxt = np.array([j for j in range(len(crf.end)) if j not in stop_tags])
        score += _logsumexp(crf.transitions[path[end - 1], nxt] + emissions[end, nxt] + beta[end, nxt], axis=0)
    else:
        score += crf.end[path[end - 1]]
    return float(np.exp(min(score - log_z, 0.0)))
