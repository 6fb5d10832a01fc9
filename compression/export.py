"""Export a trained checkpoint to a served model directory: ONNX fp32 + int8, CRF scores, manifest.

python -m compression.export models/msra-base [--data ../shared/data/msra]
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

import raner
from raner.lexicon import Lexicon
from raner.manifest import Manifest, read_manifest, register_variant, write_manifest
from raner.normalize import normalize
from raner.spans import tags_to_spans

from .data import DEFAULT_DATA, read_conll
from .gazetteer import categories_for
from .model import EmissionNet, NetConfig, Tagger
from .model_dir import choose_default, measured_variant, score_variants, today
from .quantize import add_emb4_variant, quantize
from .train import CHECKPOINT, WORD_SET_SIZE, featurizer_for, numpy_crf, predict_tags

INPUT_NAMES = ["chars", "bigrams", "lexicon", "lengths", "lexwords", "lac_ids", "lac_lengths", "lac_index"]


def load_checkpoint(path: Path) -> tuple[Tagger, list[str]]:
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    model = Tagger(NetConfig(**ckpt["config"]), sparse=False)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt["labels"]


def export_onnx(net: EmissionNet, path: Path) -> None:
    """Emission network to ONNX with dynamic batch and sequence axes."""
    net.eval()
    cfg = net.cfg
    dummy = (torch.ones(2, 5, dtype=torch.long), torch.ones(2, 5, dtype=torch.long),
             torch.zeros(2, 5, cfg.lexicon_width), torch.tensor([5, 3]))
    names = INPUT_NAMES[:4]
    axes = {"chars": {0: "batch", 1: "time"}, "bigrams": {0: "batch", 1: "time"},
            "lexicon": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, "emissions": {0: "batch", 1: "time"}}
    if cfg.n_words or cfg.lac_rows:
        dummy = (*dummy, torch.ones(2, 5, 4, WORD_SET_SIZE, dtype=torch.long))
        names = INPUT_NAMES[:5]
        axes["lexwords"] = {0: "batch", 1: "time"}
    if cfg.lac_rows:  # LAC tokens: 4 and 2 of them covering the 5 and 3 characters
        dummy = (*dummy, torch.ones(2, 4, dtype=torch.long), torch.tensor([4, 2]), torch.tensor([[0, 1, 1, 2, 3], [0, 0, 1, 0, 0]]))
        names = INPUT_NAMES
        axes.update({"lac_ids": {0: "batch", 1: "tokens"}, "lac_lengths": {0: "batch"}, "lac_index": {0: "batch", 1: "time"}})
    torch.onnx.export(net, dummy, str(path), input_names=names, output_names=["emissions"],
                      dynamic_axes=axes, opset_version=17, dynamo=False)


def save_crf(model: Tagger, path: Path) -> None:
    c = model.crf
    np.savez(path, start=c.start.detach().numpy(), end=c.end.detach().numpy(), transitions=c.transitions.detach().numpy())


def base_manifest(out: Path, labels: list[str], network: dict, inputs: dict, training: dict, max_length: int,
                  scheme: str = "BIO") -> Manifest:
    """The manifest of a new model directory, before any variant is registered (its default will be fp32)."""
    return Manifest(path=out, name=out.name, labels=tuple(labels), scheme=scheme, max_length=max_length, inputs=inputs,
                    crf="crf.npz", default_variant="fp32", variants={}, created=today(), network=network, training=training)


def torch_onnx_agreement(out: Path, model: Tagger, labels: list[str], texts: list[str]) -> float:
    """Share of sentences whose fp32 ONNX tags (through the runtime) equal torch's."""
    feat = featurizer_for(out, model.net.cfg.n_bigrams > 0, model.net.cfg.lexicon_width)
    torch_tags = predict_tags(model, feat, numpy_crf(model, labels), [normalize(t) for t in texts], labels)
    rec = raner.load(out, variant="fp32", cache_size=0)
    same = 0
    for t, tags in zip(texts, torch_tags):
        spans = {(e.type, e.start, e.end) for e in rec.predict(t)}
        same += spans == set(tags_to_spans(tags))
    return same / max(len(texts), 1)


def export_model_dir(out: Path, data: Path | None, max_length: int = 200) -> dict:
    """Write fp32, int8 and int8-emb4 (4-bit word tables) variants beside the checkpoint and score them."""
    model, labels = load_checkpoint(out / CHECKPOINT)
    cfg = model.net.cfg
    training = json.loads((out / "training.json").read_text(encoding="utf-8")) if (out / "training.json").is_file() else {}
    feat_files = {"vocab": "vocab.txt", "bigrams": "bigrams.txt" if cfg.n_bigrams else None,
                  "lexicon": "lexicon.npz" if cfg.lexicon_width else None, "lexicon_categories": list(categories_for(cfg.lexicon_width)),
                  "lexicon_set_size": WORD_SET_SIZE}
    if cfg.lac_rows:
        feat_files["lac_tokens"] = "lac_tokens.npz"
    if cfg.lexicon_width:  # the runtime reads the packed form: several times faster to load than the .tsv
        Lexicon.read(out / "lexicon.tsv", categories_for(cfg.lexicon_width), WORD_SET_SIZE).write_packed(out / "lexicon.npz")
    export_onnx(model.net, out / "model.fp32.onnx")
    save_crf(model, out / "crf.npz")
    fp32 = measured_variant(out, "fp32", "model.fp32.onnx", "the trained network, exported to ONNX in float32")
    write_manifest(out, base_manifest(out, labels, cfg.to_dict(), feat_files, training, max_length).with_variant(fp32, default=True))
    info = quantize(out / "model.fp32.onnx", out / "model.int8.onnx")
    register_variant(out, measured_variant(
        out, "int8", "model.int8.onnx", "ONNX Runtime dynamic INT8: MatMul, LSTM and embedding Gather weights int8 (per tensor)"
        + ("; LAC's GRU layers stay float32 (ONNX Runtime has no quantized GRU)" if cfg.lac_dim else ""), batch_invariant=False))
    print("int8 ops:", info["ops_after"])
    add_emb4_variant(out, "fp32", None)
    if data is None:
        return {}
    dev = read_conll(data / "dev.txt")
    agree = torch_onnx_agreement(out, model, labels, [s.text for s in dev])
    print(f"torch vs ONNX fp32: identical entities on {agree:.2%} of dev sentences")
    score_variants(out, data)
    write_manifest(out, replace(read_manifest(out), checks={"torch_onnx_fp32_identical_dev_sentences": round(agree, 4)}))
    print("default variant:", choose_default(out))
    return read_manifest(out).to_dict()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="model directory holding checkpoint.pt")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with dev.txt/test.txt to score on")
    ap.add_argument("--no-eval", action="store_true")
    ap.add_argument("--max-length", type=int, default=200)
    args = ap.parse_args(argv)
    export_model_dir(args.out, None if args.no_eval else args.data, args.max_length)


if __name__ == "__main__":
    main()
