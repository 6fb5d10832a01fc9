"""Where a RaNER model comes from and what it holds: a local directory or a ModelScope model id downloaded on demand,
read into the torch network.

A ModelScope ``transformer-crf`` directory holds ``configuration.json``, ``config.json`` (``model_type``
``structbert``, BERT sizes), ``pytorch_model.bin`` (keys ``encoder.*``, ``head.linear.*``,
``head.crf.{start_transitions,end_transitions,transitions}``), ``vocab.txt`` and maybe ``label_mapping.json``.
``modelscope`` is only a download client here: it is imported when a model id (not a directory) is given,
so building from a local directory needs neither it nor the network.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import BertConfig

from raner.spans import scheme_of, split_tag

from .network import TransformerCRF

CONFIGURATION, CONFIG, LABEL_MAPPING, VOCAB = "configuration.json", "config.json", "label_mapping.json", "vocab.txt"
WEIGHT_FILES = ("pytorch_model.bin", "model.safetensors")
BERT_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
               "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
               "type_vocab_size", "initializer_range", "layer_norm_eps", "pad_token_id")
CRF_KEYS = {f"{prefix}crf.{theirs}": f"crf.{ours}" for prefix in ("head.", "")  # older checkpoints lack "head."
            for theirs, ours in (("start_transitions", "start"), ("end_transitions", "end"),
                                 ("transitions", "transitions"))}
IGNORED_KEYS = ("encoder.pooler.", "encoder.embeddings.position_ids")


MODEL_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class SourceError(RuntimeError):
    """The source model cannot be found, downloaded or read; the message says what to do."""


def looks_like_model_id(name: str) -> bool:
    """Whether ``name`` has the ``owner/model`` form of a ModelScope id."""
    return bool(MODEL_ID.match(name)) and not name.startswith((".", "/"))


def resolve_model(model: str | Path, cache_dir: Path | None = None) -> Path:
    """A local directory holding the model's files: ``model`` itself, or a ModelScope download of it."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    name = str(model)
    if not looks_like_model_id(name):
        raise SourceError(f"{name} is neither a directory nor a ModelScope model id (owner/name)")
    try:
        from modelscope.hub.snapshot_download import snapshot_download
    except ImportError:
        raise SourceError(f"cannot download {name}: the ModelScope client is not installed (pip install modelscope), "
                          "or download the model elsewhere and pass its local directory as --model") from None
    try:
        local = snapshot_download(name, cache_dir=str(cache_dir) if cache_dir else None)
    except Exception as e:  # the client raises requests/urllib3/its own errors; all mean the same to the user
        raise SourceError(f"cannot download {name} from ModelScope ({type(e).__name__}: {str(e)[:200]}): no network? "
                          "Download the model elsewhere and pass its local directory as --model") from None
    if not Path(local).is_dir():
        raise SourceError(f"the ModelScope client returned {local!r} for {name}, which is not a directory")
    return Path(local)


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
    pairs = [(int(v), str(k)) if label_to_id else (int(k), str(v)) for k, v in mapping.items()]
    pairs.sort()
    if [i for i, _ in pairs] != list(range(len(pairs))):
        raise SourceError(f"label ids are not 0..{len(pairs) - 1}: {sorted(i for i, _ in pairs)}")
    return [label for _, label in pairs]


def read_labels(path: Path) -> list[str]:
    """Labels in id order from label_mapping.json, else configuration.json's model.label2id/id2label, else
    config.json."""
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
    raise SourceError(f"no labels in {path}: expected {LABEL_MAPPING}, model.label2id in {CONFIGURATION} "
                      f"or id2label in {CONFIG}")


def checked_scheme(labels: Sequence[str]) -> str:
    """The scheme of a model's label set (``scheme_of``), refusing labels that are neither BIO nor BIOES tags."""
    bad = [t for t in labels if t != "O" and (split_tag(t)[0] not in "BIES" or not split_tag(t)[1])]
    if bad or "B" not in {split_tag(t)[0] for t in labels}:
        raise SourceError(f"labels {list(labels)} are not a BIO or BIOES tag set (unexpected: {bad})")
    return scheme_of(labels)


def bert_config(raw: dict) -> BertConfig:
    """A BertConfig with the sizes of a StructBERT (or BERT) config.json; StructBERT's extras are ignored."""
    if raw.get("model_type", "structbert") not in ("structbert", "bert"):
        raise SourceError(f"model_type {raw.get('model_type')!r} is not supported (expected structbert or bert)")
    if raw.get("position_embedding_type", "absolute") != "absolute":
        raise SourceError(f"position_embedding_type {raw['position_embedding_type']!r} is not supported "
                          "(only absolute)")
    cfg = BertConfig(**{k: raw[k] for k in BERT_FIELDS if raw.get(k) is not None})
    cfg._attn_implementation = "eager"  # plain matmul-softmax attention: exports to ONNX as is
    return cfg


def read_source(path: Path) -> SourceModel:
    """Read a ModelScope transformer-crf directory's description (not its weights)."""
    configuration = _read_json(path / CONFIGURATION)
    if configuration and configuration.get("model", {}).get("type", "transformer-crf") != "transformer-crf":
        raise SourceError(f"{path / CONFIGURATION}: model type {configuration['model']['type']!r} "
                          "is not transformer-crf")
    raw = _read_json(path / CONFIG)
    if not raw:
        raise SourceError(f"no {CONFIG} in {path}")
    if not (path / VOCAB).is_file():
        raise SourceError(f"no {VOCAB} in {path}")
    labels = read_labels(path)
    tokenizer = _read_json(path / "tokenizer_config.json")
    lowercase = tokenizer.get("do_lower_case", raw.get("do_lower_case", True))
    return SourceModel(path, bert_config(raw), labels, checked_scheme(labels), bool(lowercase), raw)


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
