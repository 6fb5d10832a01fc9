"""Linear-chain CRF decoding in numpy: batched Viterbi under tag-scheme constraints."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .spans import allowed_transition

FORBIDDEN = -1e4
WRITTEN_OUT_TAGS = 32  # up to this many tags, one text is decoded by Python written out for the CRF (numpy above)


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

    @cached_property
    def _decode_one(self) -> Callable[[list[list[float]]], list[int]]:
        """Viterbi for one sequence, written out for this CRF: one line per allowed move and the scores in local
        variables. With a handful of tags, straight-line Python beats numpy's per-call cost and a loop over moves
        (about 1 µs a character against 2 for loops, 4-5 for numpy); forbidden moves are never tried."""
        n = len(self._moves)
        names = [f"m{i}_{j}" for j, options in enumerate(self._moves) for i, _ in options]
        lines = [
            "def decode(rows, moves, start, end):",
            f"    {', '.join(names)}, = moves",
            "    rows = iter(rows)",
            "    row = next(rows)",
            *(f"    s{j} = start[{j}] + row[{j}]" for j in range(n)),
            "    back = []",
            "    for row in rows:",
        ]
        for j, options in enumerate(self._moves):
            first = options[0][0]
            lines.append(f"        best = s{first} + m{first}_{j}; a{j} = {first}")
            for i, _ in options[1:]:
                lines += [f"        v = s{i} + m{i}_{j}", f"        if v > best: best = v; a{j} = {i}"]
            lines.append(f"        n{j} = best + row[{j}]")
        lines += [
            f"        {', '.join(f's{j}' for j in range(n))} = {', '.join(f'n{j}' for j in range(n))}",
            f"        back.append(({', '.join(f'a{j}' for j in range(n))},))",
            f"    final = [{', '.join(f's{j} + end[{j}]' for j in range(n))}]",
            "    tag = final.index(max(final))",
            "    path = [tag]",
            "    for came in reversed(back):",
            "        tag = came[tag]",
            "        path.append(tag)",
            "    path.reverse()",
            "    return path",
        ]
        namespace: dict = {}
        exec(compile("\n".join(lines), f"<viterbi for {n} tags>", "exec"), namespace)  # only names and indices
        moves = tuple(m for options in self._moves for _, m in options)
        start, end = (v.astype(np.float64).tolist() for v in (self.start, self.end))
        decode = namespace["decode"]
        return lambda rows: decode(rows, moves, start, end)

    def viterbi(self, emissions: np.ndarray, lengths: Sequence[int]) -> list[np.ndarray]:
        """Best tag path for each sequence of a padded batch ``emissions[B, T, C]``.

        Scores add up in float64 on either route (one sequence in plain Python, a batch in numpy), so a text gets
        the same path alone or in a batch."""
        emissions = np.asarray(emissions, dtype=np.float32)
        batch, steps, _ = emissions.shape
        lengths = np.clip(np.asarray(lengths, dtype=np.int64), 0, steps)  # a length past either end means the edge
        if batch == 0:
            return []
        if steps == 0:
            return [np.zeros(0, dtype=np.int64) for _ in range(batch)]
        if batch == 1 and len(self.start) <= WRITTEN_OUT_TAGS:
            rows = emissions[0, : int(lengths[0])].astype(np.float64).tolist()
            return [np.array(self._decode_one(rows) if rows else [], dtype=np.int64)]
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


def forward_backward(crf: CRF, emissions: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Log-space forward ``alpha[t, j]`` and backward ``beta[t, j]`` scores and ``log Z`` of one sequence.

    ``alpha[t, j]`` sums paths over positions ``0..t`` ending in tag ``j`` (emissions included);
    ``beta[t, j]`` sums continuations after ``t`` from tag ``j`` (end scores included). In probability space, each
    step is a product with ``M_t = exp(transitions) * exp(emissions[t])``; all prefix and suffix products come from
    one log-depth scan of rescaled matrices (6 rounds of numpy steps for 50 characters instead of a few a character).
    """
    em = np.asarray(emissions[:length], dtype=np.float64)
    shift = em.max(axis=1)
    e = np.exp(em - shift[:, None])
    start, end = np.exp(crf.start.astype(np.float64)), np.exp(crf.end.astype(np.float64))
    log_alpha, log_beta = np.empty_like(e), np.empty_like(e)
    first = start * e[0]
    with np.errstate(divide="ignore"):
        log_alpha[0] = np.log(first) + shift[0]
        log_beta[length - 1] = np.log(end)
        if length > 1:
            steps = np.exp(crf.transitions.astype(np.float64))[None] * e[1:, None, :]  # M_1 .. M_{n-1}
            # one scan for both directions: suffix products are the transposes of the prefix products of the
            # reversed, transposed steps (M_t @ ... @ M_{n-1} = (M_{n-1}^T @ ... @ M_t^T)^T)
            both, logs = _scaled_products(np.stack((steps, steps[::-1].transpose(0, 2, 1))))
            log_alpha[1:] = np.log(first @ both[0]) + (logs[0] + np.cumsum(shift)[1:])[:, None]
            log_beta[:-1] = np.log(end @ both[1])[::-1] + (logs[1][::-1] + np.cumsum(shift[::-1])[::-1][1:])[:, None]
        log_z = float(np.logaddexp.reduce(log_alpha[-1] + np.log(end)))
    return log_alpha, log_beta, log_z


def _scaled_products(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive prefix products ``m[..., 0] @ ... @ m[..., t]`` along axis 1 of a ``[K, N, C, C]`` stack of square
    matrices, each scaled to a largest entry of 1 with the log of its factor taken out (``[K, N]``)."""
    out, logs = m.copy(), np.zeros(m.shape[:2])
    n, span = m.shape[1], 1
    while span < n:
        out[:, span:] = out[:, :-span] @ out[:, span:]
        logs[:, span:] = logs[:, :-span] + logs[:, span:]
        top = out[:, span:].max(axis=(2, 3))
        out[:, span:] /= top[:, :, None, None]
        logs[:, span:] += np.log(top)
        span *= 2
    return out, logs


def marginals(crf: CRF, emissions: np.ndarray, length: int) -> np.ndarray:
    """``P(tag_t = j | text)`` for each position: rows sum to 1."""
    alpha, beta, log_z = forward_backward(crf, emissions, length)
    return np.exp(alpha + beta - log_z)


def span_probabilities(crf: CRF, tables: tuple[np.ndarray, np.ndarray, float], emissions: np.ndarray,
                       path: np.ndarray, spans: Sequence[tuple[int, int, frozenset[int]]]) -> list[float]:
    """For each ``(start, end, stop_tags)``: the probability that tags ``start..end`` are exactly ``path[start:end]``
    and the tag after it is not in ``stop_tags``. All spans of a text at once (a few numpy steps, not a few a span).

    For BIO, ``stop_tags`` is ``{I-X}``: the entity must end where it does, so this is the
    probability of the whole span being one entity with these exact boundaries and type.
    """
    if not spans:
        return []
    alpha, beta, log_z = tables
    length = alpha.shape[0]
    path = np.asarray(path)
    em = np.asarray(emissions[:length], dtype=np.float64)
    trans = crf.transitions.astype(np.float64)
    moves = np.zeros(length)  # moves[t]: score of stepping from path[t - 1] to path[t], its emission included
    moves[1:] = trans[path[:-1], path[1:]] + em[np.arange(1, length), path[1:]]
    along = np.cumsum(moves)
    starts = np.array([a for a, _, _ in spans])
    ends = np.array([b for _, b, _ in spans])
    last = path[ends - 1]
    score = alpha[starts, path[starts]] + along[ends - 1] - along[starts]
    after = crf.end.astype(np.float64)[last]  # a span that ends the text; else any tag but a stop tag may follow
    inside = np.flatnonzero(ends < length)
    if len(inside):
        at = ends[inside]
        rows = trans[last[inside]] + em[at] + beta[at]
        for r, i in enumerate(inside):
            rows[r, list(spans[i][2])] = -np.inf
        after[inside] = np.logaddexp.reduce(rows, axis=1)
    return np.exp(np.minimum(score + after - log_z, 0.0)).tolist()
