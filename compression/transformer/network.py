"""RaNER's network in torch: a Hugging Face BertModel built from the StructBERT config, a linear layer and a CRF.

The CRF is pytorch-crf's: a path's score adds ``transitions[tags[t-1], tags[t]]``, i.e. ``transitions[i, j]``
scores tag i followed by tag j, the convention of compression/crf.py and raner/crf.py, so the matrix is
used as stored. Emissions are decoded at each word's first token only (ModelScope's ``label_mask``).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from transformers import BertConfig, BertModel

from raner.features import Encoded, unit_positions
from raner.spans import SCHEMES, allowed_transition

from ..crf import CRFLayer
from ..inputs import pad_tags, to_torch

INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]


class TransformerCRF(nn.Module):
    """Emission network (BERT encoder + linear) with the CRF scores alongside; ``forward`` gives emissions only."""

    def __init__(self, config: BertConfig, n_labels: int):
        super().__init__()
        self.encoder = BertModel(config, add_pooling_layer=False)
        self.linear = nn.Linear(config.hidden_size, n_labels)
        self.crf = CRFLayer(n_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        """Tag scores ``[B, T, C]`` of every token (the encoder is called directly so the graph stays plain)."""
        hidden = self.encoder.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
        blocked = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        hidden = self.encoder.encoder(hidden, attention_mask=blocked).last_hidden_state
        return self.linear(hidden)

    def run(self, feeds: dict[str, torch.Tensor]) -> torch.Tensor:
        return self(feeds["input_ids"], feeds["attention_mask"], feeds["token_type_ids"])

    def shape(self) -> dict:
        """Sizes as they are now (pruning changes heads and FFN width per layer)."""
        cfg = self.encoder.config
        layers = self.encoder.encoder.layer
        return {"type": "transformer-crf", "encoder": "bert", "hidden_size": cfg.hidden_size, "layers": len(layers),
                "vocab_size": cfg.vocab_size, "labels": self.linear.out_features,
                "heads": [lay.attention.self.query.out_features // lay.attention.self.attention_head_size
                          for lay in layers],
                "intermediate": [lay.intermediate.dense.out_features for lay in layers]}

    def export_onnx(self, path: Path) -> None:
        """The emission network to ONNX (opset 17) with dynamic batch and token axes."""
        self.eval()
        ids = torch.tensor([[2, 7, 8, 9, 10, 11, 3], [2, 7, 8, 3, 0, 0, 0]])
        mask = (ids != 0).long()
        axes = {name: {0: "batch", 1: "tokens"} for name in [*INPUT_NAMES, "emissions"]}
        with torch.no_grad():
            torch.onnx.export(self, (ids, mask, torch.zeros_like(ids)), str(path), input_names=INPUT_NAMES,
                              output_names=["emissions"], dynamic_axes=axes, opset_version=17, dynamo=False)


def gather_units(emissions: torch.Tensor, encoded: Sequence[Encoded]) -> tuple[torch.Tensor, torch.Tensor]:
    """Emissions at each word's first token, left-aligned ``[B, U, C]`` (zeros past the end), and the mask of real
    units: the runtime's ``unit_positions``, gathered in torch so gradients flow."""
    index, mask = unit_positions(encoded)
    index, mask = torch.from_numpy(index), torch.from_numpy(mask)
    rows = emissions[torch.arange(len(encoded)).unsqueeze(1), index]
    return rows.masked_fill(~mask.unsqueeze(2), 0.0), mask


def unit_nll(model: TransformerCRF, feat, encoded: Sequence[Encoded], tags: Sequence[Sequence[int]]) -> torch.Tensor:
    """Mean CRF negative log-likelihood of the word-level tags (sentences without words must be left out)."""
    emissions, mask = gather_units(model.run(to_torch(feat.batch(encoded))), encoded)
    return model.crf.nll(emissions, pad_tags(tags, tuple(mask.shape)), mask)


def allowed_matrix(labels: Sequence[str], scheme: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Which starts, ends and moves the tag scheme permits (BIO: no O -> I-X; BIOES: no B-X -> O, ...)."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme}")
    start = torch.tensor([allowed_transition("START", t, scheme) for t in labels])
    end = torch.tensor([allowed_transition(t, "END", scheme) for t in labels])
    moves = torch.tensor([[allowed_transition(a, b, scheme) for b in labels] for a in labels])
    return start, end, moves


def viterbi_reference(emissions: torch.Tensor, crf: CRFLayer, labels: Sequence[str], scheme: str) -> list[int]:
    """Best permitted tag path of one sequence ``[U, C]``, written plainly (a check on the runtime's batched
    Viterbi)."""
    start_ok, end_ok, moves_ok = allowed_matrix(labels, scheme)
    neg = torch.tensor(float("-inf"))
    trans = torch.where(moves_ok, crf.transitions.detach(), neg)
    score = torch.where(start_ok, crf.start.detach(), neg) + emissions[0]
    back = []
    for t in range(1, emissions.shape[0]):
        total = score[:, None] + trans  # [previous tag, next tag]
        score, best = total.max(dim=0)
        score = score + emissions[t]
        back.append(best)
    score = score + torch.where(end_ok, crf.end.detach(), neg)
    path = [int(score.argmax())]
    for best in reversed(back):
        path.append(int(best[path[-1]]))
    return path[::-1]
