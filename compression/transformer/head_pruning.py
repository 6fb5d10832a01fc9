"""Structured pruning of a BERT encoder: attention heads and FFN neurons, ranked by importance, physically removed.

Importance follows Michel et al. 2019 ("Are Sixteen Heads Really Better than One?"): a mask value of 1 is
put on each head's output and on each FFN neuron's activation, and the importance of a unit is the mean,
over sentences, of ``|dL/d mask|``, L being the CRF loss of the tags. Head scores are normalized per layer
(L2) and pruned globally, keeping at least one head per layer; FFN neurons are pruned by the same share in
every layer. transformers 5 has neither ``head_mask`` nor ``prune_heads``, so both are done here: masks
by forward hooks, pruning by replacing the Linear layers with smaller copies of the kept rows and columns.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import torch
from torch import nn

from .network import TransformerCRF

Scores = list[torch.Tensor]  # one score tensor per layer


@dataclass
class HeadPlan:
    """What survives, per layer: the kept head indices and the kept FFN neuron indices."""

    heads: list[list[int]]
    neurons: list[list[int]]

    def to_dict(self) -> dict:
        return asdict(self)


class Masks:
    """Multiplicative masks on every head's output and every FFN neuron, installed as forward hooks.

    ``with Masks(model) as m:`` leaves the masks at 1 (the model unchanged); set entries of ``m.heads[l]``
    or ``m.neurons[l]`` to 0 to silence units, or read their gradients after a backward pass.
    """

    def __init__(self, model: TransformerCRF, requires_grad: bool = False):
        self.layers = list(model.encoder.encoder.layer)
        self.heads = [torch.ones(n_heads(lay), requires_grad=requires_grad) for lay in self.layers]
        self.neurons = [torch.ones(lay.intermediate.dense.out_features, requires_grad=requires_grad)
                        for lay in self.layers]
        self._hooks: list = []

    def __enter__(self) -> Masks:
        for i, lay in enumerate(self.layers):
            self._hooks.append(lay.attention.self.register_forward_hook(self._head_hook(i)))
            self._hooks.append(lay.intermediate.register_forward_hook(self._neuron_hook(i)))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks.clear()

    def _head_hook(self, i: int) -> Callable:
        def hook(module, args, output):
            context, *rest = output
            shape = context.shape
            masked = context.view(*shape[:-1], -1, module.attention_head_size) * self.heads[i][:, None]
            return (masked.view(shape), *rest)
        return hook

    def _neuron_hook(self, i: int) -> Callable:
        def hook(module, args, output):
            return output * self.neurons[i]
        return hook

    def zero_grad(self) -> None:
        for m in (*self.heads, *self.neurons):
            m.grad = None


def n_heads(layer: nn.Module) -> int:
    """Attention heads a BERT layer has now."""
    att = layer.attention.self
    return att.query.out_features // att.attention_head_size


def measure_head_importance(model: TransformerCRF,
                            losses: Iterable[Callable[[], torch.Tensor]]) -> tuple[Scores, Scores]:
    """Mean ``|dL/d mask|`` per head and per FFN neuron, each ``loss()`` computing L on one sentence or batch."""
    model.eval()  # no dropout: the gradient of the deterministic network
    masks = Masks(model, requires_grad=True)
    heads = [torch.zeros_like(m) for m in masks.heads]
    neurons = [torch.zeros_like(m) for m in masks.neurons]
    count = 0
    with masks:
        for loss in losses:
            model.zero_grad()
            masks.zero_grad()
            loss().backward()
            for acc, m in zip(heads + neurons, masks.heads + masks.neurons):
                acc += m.grad.abs()
            count += 1
    model.zero_grad()
    return [h / max(count, 1) for h in heads], [n / max(count, 1) for n in neurons]


def make_head_plan(head_scores: list[torch.Tensor], neuron_scores: list[torch.Tensor], prune_heads: float,
                   prune_ffn: float) -> HeadPlan:
    """Drop the ``prune_heads`` share of all heads (least important first, one head always left per layer)
    and the ``prune_ffn`` share of each layer's FFN neurons."""
    if not (0 <= prune_heads < 1 and 0 <= prune_ffn < 1):
        raise ValueError("pruning shares must be in [0, 1)")
    normed = [s / s.norm().clamp(min=1e-12) for s in head_scores]
    ranked = sorted((float(s), layer, h) for layer, scores in enumerate(normed) for h, s in enumerate(scores))
    to_drop = round(prune_heads * len(ranked))
    kept = [set(range(len(s))) for s in head_scores]
    for _, layer, h in ranked:
        if to_drop == 0:
            break
        if len(kept[layer]) > 1:
            kept[layer].discard(h)
            to_drop -= 1
    neurons = []
    for s in neuron_scores:
        k = max(1, round((1 - prune_ffn) * len(s)))
        neurons.append(sorted(torch.argsort(s, descending=True)[:k].tolist()))
    return HeadPlan([sorted(k) for k in kept], neurons)


def _rows(linear: nn.Linear, idx: list[int]) -> nn.Linear:
    new = nn.Linear(linear.in_features, len(idx))
    with torch.no_grad():
        new.weight.copy_(linear.weight[idx])
        new.bias.copy_(linear.bias[idx])
    return new


def _columns(linear: nn.Linear, idx: list[int]) -> nn.Linear:
    new = nn.Linear(len(idx), linear.out_features)
    with torch.no_grad():
        new.weight.copy_(linear.weight[:, idx])
        new.bias.copy_(linear.bias)
    return new


def apply_head_plan(model: TransformerCRF, plan: HeadPlan) -> TransformerCRF:
    """A smaller copy of ``model`` computing what ``model`` computes with the dropped heads and neurons silenced."""
    pruned = copy.deepcopy(model)
    layers = pruned.encoder.encoder.layer
    if len(plan.heads) != len(layers) or len(plan.neurons) != len(layers):
        raise ValueError(f"the plan has {len(plan.heads)} layers, the model {len(layers)}")
    for lay, heads, neurons in zip(layers, plan.heads, plan.neurons):
        att = lay.attention.self
        d = att.attention_head_size
        if not heads or not neurons:
            raise ValueError("every layer keeps at least one head and one FFN neuron")
        idx = [h * d + j for h in heads for j in range(d)]
        att.query, att.key, att.value = _rows(att.query, idx), _rows(att.key, idx), _rows(att.value, idx)
        att.num_attention_heads, att.all_head_size = len(heads), len(idx)
        lay.attention.output.dense = _columns(lay.attention.output.dense, idx)
        lay.intermediate.dense = _rows(lay.intermediate.dense, neurons)
        lay.output.dense = _columns(lay.output.dense, neurons)
    pruned.eval()
    return pruned


def parameters(model: nn.Module) -> int:
    """Number of weight values of a torch model."""
    return sum(p.numel() for p in model.parameters())
