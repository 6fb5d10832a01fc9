"""Posterior distillation: a student CRF learns the per-character tag posteriors of an ensemble of exported models.

The teachers run through the runtime (ONNX Runtime; each ``DIR`` as its fp32 variant, or ``DIR:VARIANT``), each with
its own features, so members that read text differently (characters, LAC words) can teach one student, and a served
ensemble variant can teach as one member. Their emissions and CRF scores are averaged, and the
student's forward-backward marginals are pulled toward the averaged CRF's marginals (cross-entropy per character).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

import raner

from .crf import CRFLayer, log_marginals
from .ensemble_graph import MemberSpec, mean_crf


def teacher_spec(text: Path | str) -> MemberSpec:
    """A teacher named as ``DIR`` (its fp32 variant) or ``DIR:VARIANT``."""
    return MemberSpec.parse(str(text), "fp32")


class EnsembleTeacher:
    """Exported model directories whose averaged emissions and CRF scores define the target posteriors. Each text's
    averaged emissions are kept (up to ``cache_texts`` texts), so epochs after the first run only the student."""

    def __init__(self, dirs: Sequence[Path | str], labels: Sequence[str], cache_texts: int = 500_000):
        if not dirs:
            raise ValueError("an ensemble teacher needs at least one model directory")
        specs = [teacher_spec(d) for d in dirs]
        self.members = [raner.load(s.dir, variant=s.variant, cache_size=0) for s in specs]
        for s, rec in zip(specs, self.members):
            if list(rec.manifest.labels) != list(labels):
                raise ValueError(f"teacher {s.dir} has labels {rec.manifest.labels}, the student {list(labels)}")
        self.cache: dict[str, np.ndarray] = {}
        self.cache_texts = cache_texts
        crf = mean_crf([s.dir for s in specs], [s.variant for s in specs])
        self.start, self.end, self.transitions = (torch.from_numpy(crf[k]) for k in ("start", "end", "transitions"))

    @torch.no_grad()
    def log_marginals(self, texts: Sequence[str]) -> torch.Tensor:
        """[B, T, C] log posteriors of the averaged model for normalized texts (T = longest text)."""
        steps = max(len(t) for t in texts)
        em = np.zeros((len(texts), steps, len(self.start)), dtype=np.float32)
        for i, e in enumerate(self.emissions(texts)):
            em[i, : len(e)] = e
        lengths = torch.tensor([len(t) for t in texts])
        mask = torch.arange(steps).unsqueeze(0) < lengths.unsqueeze(1)
        return log_marginals(self.start, self.end, self.transitions, torch.from_numpy(em), mask)

    def emissions(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The members' averaged [len(text), C] emissions of each text (from the cache where it has them)."""
        todo = sorted({t for t in texts if t not in self.cache})
        fresh: dict[str, np.ndarray] = {}
        if todo:
            total = [np.zeros((len(t), len(self.start)), dtype=np.float32) for t in todo]
            for rec in self.members:
                for i, e in enumerate(rec.emissions(todo)):
                    if len(e) != len(todo[i]):
                        raise ValueError(f"teacher {rec.name} gave {len(e)} emissions for {len(todo[i])} characters")
                    total[i] += e / len(self.members)
            fresh = dict(zip(todo, total))
            if len(self.cache) + len(fresh) <= self.cache_texts:
                self.cache.update(fresh)
        return [fresh[t] if t in fresh else self.cache[t] for t in texts]


def posterior_loss(teacher: EnsembleTeacher, crf: CRFLayer,
                   weight: float) -> Callable[[list[str], dict, torch.Tensor], torch.Tensor]:
    """``extra_loss`` for ``train_epoch``: weight x cross-entropy of the student's marginals to the teacher's."""

    def loss(texts: list[str], batch: dict, emissions: torch.Tensor) -> torch.Tensor:
        mask = torch.arange(emissions.shape[1]).unsqueeze(0) < batch["lengths"].unsqueeze(1)
        inside = mask.unsqueeze(2)  # padded positions hold junk (even inf) in both: keep them out of the sum
        target = torch.where(inside, teacher.log_marginals(texts).exp(), 0.0)
        ce = -(target * torch.where(inside, crf.log_marginals(emissions, mask), 0.0)).sum(2)
        return weight * ce.sum(1).mean()

    return loss
