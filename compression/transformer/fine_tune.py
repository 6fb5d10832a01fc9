"""A short fine-tune of a pruned Transformer-CRF: CRF loss on gold word tags plus distillation from the unpruned model.

The distillation term is the mean squared difference of the word-level emissions of student and teacher,
which pulls the pruned network back towards the function it approximated.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence

import torch

from ..inputs import pad_tags, to_torch
from .network import TransformerCRF, gather_units
from .unit_labels import Example


def fine_tune(student: TransformerCRF, teacher: TransformerCRF | None, feat, examples: Sequence[Example], steps: int,
              batch_size: int = 16, lr: float = 3e-5, distill: float = 1.0, seed: int = 13,
              log: Callable[[str], None] = print) -> list[float]:
    """Train ``student`` in place for ``steps`` batches drawn from ``examples``; returns the loss of each step."""
    if not examples or steps <= 0:
        return []
    rng = random.Random(seed)
    opt = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / steps))
    if teacher is not None:
        teacher.eval()
    losses = []
    student.train()
    for step in range(1, steps + 1):
        group = rng.sample(list(examples), min(batch_size, len(examples)))
        encoded = [e.encoded for e in group]
        feeds = to_torch(feat.batch(encoded))
        emissions, mask = gather_units(student.run(feeds), encoded)
        loss = student.crf.nll(emissions, pad_tags([e.tags for e in group], tuple(mask.shape)), mask)
        if teacher is not None and distill:
            with torch.no_grad():
                target, _ = gather_units(teacher.run(feeds), encoded)
            m = mask.unsqueeze(2)
            squared = (((emissions - target) ** 2) * m).sum()
            loss = loss + distill * squared / (m.sum() * emissions.shape[2]).clamp(min=1)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == steps:
            log(f"fine-tune step {step}/{steps}: loss {sum(losses[-50:]) / len(losses[-50:]):.4f}")
    student.eval()
    return losses
