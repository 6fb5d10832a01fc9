"""The trainable linear-chain CRF layer (torch): negative log-likelihood with padded batches, marginals, and its
scores saved for (or turned into) the runtime's numpy CRF."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from raner.crf import CRF


class CRFLayer(nn.Module):
    """Start, end and transition scores; ``transitions[i, j]`` scores tag i followed by tag j."""

    def __init__(self, num_tags: int):
        super().__init__()
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z for each sequence; ``mask[b, t]`` is True inside the sequence."""
        score = self.start + emissions[:, 0]
        for t in range(1, emissions.shape[1]):
            nxt = torch.logsumexp(score.unsqueeze(2) + self.transitions + emissions[:, t].unsqueeze(1), dim=1)
            score = torch.where(mask[:, t : t + 1], nxt, score)
        return torch.logsumexp(score + self.end, dim=1)

    def log_marginals(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log P(tag j at position t | sentence), [B, T, C], by forward-backward (differentiable)."""
        return log_marginals(self.start, self.end, self.transitions, emissions, mask)

    def path_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Score of the given tag paths."""
        maskf = mask.float()
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
        score = self.start[tags[:, 0]] + (emit * maskf).sum(1)
        trans = self.transitions[tags[:, :-1], tags[:, 1:]]
        score = score + (trans * maskf[:, 1:]).sum(1)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        return score + self.end[last]

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor,
            gold: torch.Tensor | None = None) -> torch.Tensor:
        """Mean negative log-likelihood of the gold paths; ``gold[b]`` False leaves sequence b out (no gold)."""
        each = self.log_partition(emissions, mask) - self.path_score(emissions, tags, mask)
        if gold is None:
            return each.mean()
        return (each * gold).sum() / gold.sum().clamp(min=1)

    def scores(self) -> dict[str, np.ndarray]:
        """Start, end and transition scores as numpy arrays."""
        return {"start": self.start.detach().numpy(), "end": self.end.detach().numpy(),
                "transitions": self.transitions.detach().numpy()}

    def save(self, path: str | Path) -> None:
        """The scores as the runtime reads them (an ``.npz`` of start, end and transitions)."""
        np.savez(path, **self.scores())

    def to_runtime(self, labels: Sequence[str], scheme: str = "BIO") -> CRF:
        """The runtime's numpy CRF over these scores with the scheme's forbidden moves applied (what a served
        model decodes with)."""
        s = self.scores()
        return CRF.constrained(s["start"], s["end"], s["transitions"], labels, scheme)


def log_marginals(start: torch.Tensor, end: torch.Tensor, transitions: torch.Tensor, emissions: torch.Tensor,
                  mask: torch.Tensor) -> torch.Tensor:
    """Per-position tag posteriors of a linear-chain CRF in log space; padded positions hold junk (mask them).

    Posteriors do not change when a position's scores all move by one constant, so each position is centred first:
    the gradient then has no shared component, which otherwise drifted all emissions by hundreds under Adam (in
    float32 the partition sums then lose the precision the loss needs).
    """
    emissions = emissions - emissions.mean(2, keepdim=True)
    steps = emissions.shape[1]
    last = (mask.sum(1) - 1).unsqueeze(1)  # [B, 1]
    alphas = [start + emissions[:, 0]]
    for t in range(1, steps):
        alphas.append(torch.logsumexp(alphas[-1].unsqueeze(2) + transitions, dim=1) + emissions[:, t])
    betas = [end.expand_as(emissions[:, 0])]
    for t in range(steps - 2, -1, -1):
        nxt = torch.logsumexp(transitions + (emissions[:, t + 1] + betas[-1]).unsqueeze(1), dim=2)
        betas.append(torch.where(last > t, nxt, end.expand_as(nxt)))
    alpha = torch.stack(alphas, 1)
    beta = torch.stack(betas[::-1], 1)
    log_z = torch.logsumexp(alpha.gather(1, last.unsqueeze(2).expand(-1, 1, alpha.shape[2])).squeeze(1) + end, dim=1)
    return alpha + beta - log_z.view(-1, 1, 1)
