"""RaNER's network in torch: a Hugging Face BertModel built from the StructBERT config, a linear layer and a CRF.

A ModelScope ``transformer-crf`` directory holds ``configuration.json``, ``config.json`` (``model_type``
``structbert``, BERT sizes), ``pytorch_model.bin`` (keys ``encoder.*``, ``head.linear.*``,
``head.crf.{start_transitions,end_transitions,transitions}``), ``vocab.txt`` and maybe ``label_mapping.json``.

The CRF is pytorch-crf's: a path's score adds ``transitions[tags[t-1], tags[t]]``, i.e. ``transitions[i, j]``
scores tag i followed by tag j, the convention of compression/crf.py and raner/crf.py, so the matrix is
used as stored. Emissions are decoded at each word's first token only (ModelScope's ``label_mask``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from transformers import BertConfig, BertModel

from raner.crf import CRF as NumpyCRF
from raner.features import Encoded
from raner.spans import SCHEMES, allowed_transition, split_tag

from .crf import CRF
from .model_source import SourceError

CONFIGURATION, CONFIG, LABEL_MAPPING, VOCAB = "configuration.json", "config.json", "label_mapping.json", "vocab.txt"
WEIGHT_FILES = ("pytorch_model.bin", "model.safetensors")
INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
BERT_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
               "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
               "initializer_range", "layer_norm_eps", "pad_token_id")
CRF_KEYS = {f"{prefix}crf.{theirs}": f"crf.{ours}" for prefix in ("head.", "")  # older checkpoints lack "head."
            for theirs, ours in (("start_transitions", "start"), ("end_transitions", "end"), ("transitions", "transitions"))}
IGNORED_KEYS = ("encoder.pooler.", "encoder.embeddings.position_ids")


@dataclass
class SourceModel:
    """What a RaNER-style directory says: the BERT sizes, the labels in id order, the tag scheme, lowercasing."""

    path: Path
    config: BertConfig
    labels: list[str]
    scheme: str
    lowercase: bool
    raw_config: dict


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SourceError(f"{path} is not valid JSON ({e})") from None


def _by_id(mapping: dict, label_to_id: bool) -> list[str]:
    pairs = [(int(v), str(k)) for k, v in mapping.items()] if label_to_id else [(int(k), str(v)) for k, v in mapping.items()]
    pairs.sort()
    if [i for i, _ in pairs] != list(range(len(pairs))):
        raise SourceError(f"label ids are not 0..{len(pairs) - 1}: {sorted(i for i, _ in pairs)}")
    return [label for _, label in pairs]


def read_labels(path: Path) -> list[str]:
    """Labels in id order from label_mapping.json, else configuration.json's model.label2id/id2label, else config.json."""
    mapping = _read_json(path / LABEL_MAPPING)
    if mapping:
        return _by_id(mapping, label_to_id=True)
    model = _read_json(path / CONFIGURATION).get("model", {})
    if model.get("label2id"):
        return _by_id(model["label2id"], label_to_id=True)
    if model.get("id2label"):
        return _by_id(model["id2label"], label_to_id=False)
    id2label = _read_json(path / CONFIG).get("id2label")
    if id2label and not all(str(v).startswith("LABEL_") for v in id2label.values()):
        return _by_id(id2label, label_to_id=False)
    raise SourceError(f"no labels in {path}: expected {LABEL_MAPPING}, model.label2id in {CONFIGURATION} or id2label in {CONFIG}")


def tag_scheme(labels: Sequence[str]) -> str:
    """BIOES if any label is S-X or E-X, else BIO; other label forms are an error."""
    prefixes = {split_tag(t)[0] for t in labels}
    bad = [t for t in labels if t != "O" and (split_tag(t)[0] not in "BIES" or not split_tag(t)[1])]
    if bad or "B" not in prefixes:
        raise SourceError(f"labels {list(labels)} are not a BIO or BIOES tag set (unexpected: {bad})")
    return "BIOES" if prefixes & {"E", "S"} else "BIO"


def bert_config(raw: dict) -> BertConfig:
    """A BertConfig with the sizes of a StructBERT (or BERT) config.json; StructBERT's extras are ignored."""
    if raw.get("model_type", "structbert") not in ("structbert", "bert"):
        raise SourceError(f"model_type {raw.get('model_type')!r} is not supported (expected structbert or bert)")
    if raw.get("position_embedding_type", "absolute") != "absolute":
        raise SourceError(f"position_embedding_type {raw['position_embedding_type']!r} is not supported (only absolute)")
    cfg = BertConfig(**{k: raw[k] for k in BERT_FIELDS if raw.get(k) is not None})
    cfg._attn_implementation = "eager"  # plain matmul-softmax attention: exports to ONNX as is
    return cfg


def read_source(path: Path) -> SourceModel:
    """Read a ModelScope transformer-crf directory's description (not its weights)."""
    configuration = _read_json(path / CONFIGURATION)
    if configuration and configuration.get("model", {}).get("type", "transformer-crf") != "transformer-crf":
        raise SourceError(f"{path / CONFIGURATION}: model type {configuration['model']['type']!r} is not transformer-crf")
    raw = _read_json(path / CONFIG)
    if not raw:
        raise SourceError(f"no {CONFIG} in {path}")
    if not (path / VOCAB).is_file():
        raise SourceError(f"no {VOCAB} in {path}")
    labels = read_labels(path)
    tokenizer = _read_json(path / "tokenizer_config.json")
    lowercase = tokenizer.get("do_lower_case", raw.get("do_lower_case", True))
    return SourceModel(path, bert_config(raw), labels, tag_scheme(labels), bool(lowercase), raw)


class TransformerCRF(nn.Module):
    """Emission network (BERT encoder + linear) with the CRF scores alongside; ``forward`` gives emissions only."""

    def __init__(self, config: BertConfig, n_labels: int):
        super().__init__()
        self.encoder = BertModel(config, add_pooling_layer=False)
        self.linear = nn.Linear(config.hidden_size, n_labels)
        self.crf = CRF(n_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
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
                "heads": [lay.attention.self.query.out_features // lay.attention.self.attention_head_size for lay in layers],
                "intermediate": [lay.intermediate.dense.out_features for lay in layers]}


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The checkpoint's state dict (pytorch_model.bin, or model.safetensors)."""
    for name in WEIGHT_FILES:
        file = path / name
        if not file.is_file():
            continue
        try:
            if name.endswith(".safetensors"):
                from safetensors.torch import load_file
                return load_file(str(file))
            state = torch.load(file, map_location="cpu", weights_only=True)
        except Exception as e:  # pickle, zip and safetensors errors: all mean a corrupt or foreign file
            raise SourceError(f"cannot read {file} ({type(e).__name__}: {str(e)[:200]})") from None
        return state.get("state_dict", state) if isinstance(state, dict) else state
    raise SourceError(f"no weights in {path}: expected one of {', '.join(WEIGHT_FILES)}")


def load_model(source: SourceModel) -> TransformerCRF:
    """Build the torch model and load the checkpoint into it, renaming ModelScope's keys to ours."""
    state = read_weights(source.path)
    if all(k.startswith("model.") for k in state):
        state = {k[len("model."):]: v for k, v in state.items()}
    mapped = {}
    for key, value in state.items():
        if key.startswith(IGNORED_KEYS):
            continue
        if key in CRF_KEYS:
            mapped[CRF_KEYS[key]] = value
        elif key.startswith("head.linear."):
            mapped["linear." + key[len("head.linear."):]] = value
        else:
            mapped[key] = value
    n_labels = mapped.get("linear.weight", torch.empty(0, 0)).shape[0]
    if n_labels != len(source.labels):
        raise SourceError(f"{source.path}: the checkpoint has {n_labels} output tags (head.linear.weight) "
                          f"but the label list has {len(source.labels)}: {source.labels}")
    model = TransformerCRF(source.config, n_labels)
    try:
        missing, unexpected = model.load_state_dict(mapped, strict=False)
    except RuntimeError as e:
        raise SourceError(f"{source.path}: weights do not fit {CONFIG}'s sizes ({str(e)[:300]})") from None
    if missing or unexpected:
        raise SourceError(f"{source.path}: checkpoint keys do not match a transformer-crf model; "
                          f"missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.eval()
    return model


def numpy_crf(model: TransformerCRF, labels: Sequence[str], scheme: str) -> NumpyCRF:
    """The runtime's constrained CRF over the model's scores (what the served model decodes with)."""
    c = model.crf
    return NumpyCRF.constrained(c.start.detach().numpy(), c.end.detach().numpy(), c.transitions.detach().numpy(), labels, scheme)


def to_feeds(batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """The runtime featurizer's numpy batch as torch tensors."""
    return {k: torch.from_numpy(v) for k, v in batch.items()}


def gather_units(emissions: torch.Tensor, encoded: Sequence[Encoded]) -> tuple[torch.Tensor, torch.Tensor]:
    """Emissions at each word's first token, left-aligned ``[B, U, C]``, and the mask of real units."""
    width = max((e.n_units for e in encoded), default=0) or 1
    rows, mask = [], torch.zeros(len(encoded), width, dtype=torch.bool)
    for i, e in enumerate(encoded):
        pos = torch.from_numpy(e.positions)
        row = emissions.new_zeros(width, emissions.shape[2])
        row = torch.cat([emissions[i, pos], row[len(pos):]], dim=0)
        rows.append(row)
        mask[i, : len(pos)] = True
    return torch.stack(rows), mask


def unit_nll(model: TransformerCRF, feat, encoded: Sequence[Encoded], tags: Sequence[Sequence[int]]) -> torch.Tensor:
    """Mean CRF negative log-likelihood of the word-level tags (sentences without words must be left out)."""
    emissions, mask = gather_units(model.run(to_feeds(feat.batch(encoded))), encoded)
    gold = torch.zeros(mask.shape, dtype=torch.long)
    for i, t in enumerate(tags):
        gold[i, : len(t)] = torch.tensor(t, dtype=torch.long)
    return model.crf.nll(emissions, gold, mask)


def allowed_matrix(labels: Sequence[str], scheme: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Which starts, ends and moves the tag scheme permits (BIO: no O -> I-X; BIOES: no B-X -> O, ...)."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme}")
    start = torch.tensor([allowed_transition("START", t, scheme) for t in labels])
    end = torch.tensor([allowed_transition(t, "END", scheme) for t in labels])
    moves = torch.tensor([[allowed_transition(a, b, scheme) for b in labels] for a in labels])
    return start, end, moves


def viterbi_reference(emissions: torch.Tensor, crf: CRF, labels: Sequence[str], scheme: str) -> list[int]:
    """Best permitted tag path of one sequence ``[U, C]``, written plainly (a check on the runtime's batched Viterbi)."""
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
