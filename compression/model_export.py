"""A trained tagger checkpoint as a served model directory: ONNX fp32, int8 and int8-emb4 variants, CRF scores, the
packed lexicon and the manifest, each variant scored through the runtime."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import raner
from raner.lexicon import Lexicon
from raner.manifest import read_manifest, register_variant, write_manifest
from raner.normalize import normalize
from raner.spans import tags_to_spans

from .data import read_conll
from .gazetteer import categories_for
from .inputs import featurizer_for
from .model import CHECKPOINT, WORD_SET_SIZE, Tagger, load_tagger
from .model_dir import choose_default, measured_variant, new_manifest, score_variants
from .quantization import add_emb4_variant, quantize
from .training import predict_tags


def torch_onnx_agreement(out: Path, model: Tagger, labels: list[str], texts: list[str]) -> float:
    """Share of sentences whose fp32 ONNX entities (through the runtime) equal torch's."""
    feat = featurizer_for(out, model.net.cfg.n_bigrams > 0, model.net.cfg.lexicon_width)
    torch_tags = predict_tags(model, feat, model.crf.to_runtime(labels), [normalize(t) for t in texts], labels)
    rec = raner.load(out, variant="fp32", cache_size=0)
    same = 0
    for t, tags in zip(texts, torch_tags):
        spans = {(e.type, e.start, e.end) for e in rec.predict(t)}
        same += spans == set(tags_to_spans(tags))
    return same / max(len(texts), 1)


def export_model_dir(out: Path, data: Path | None, max_length: int = 200) -> dict:
    """Write fp32, int8 and int8-emb4 (4-bit word tables) variants beside ``out``'s checkpoint; with ``data``
    (dev.txt, test.txt) also score them, check torch against ONNX and choose the default. Returns the manifest."""
    model, labels = load_tagger(out / CHECKPOINT)
    cfg = model.net.cfg
    info = out / "training.json"
    training = json.loads(info.read_text(encoding="utf-8")) if info.is_file() else {}
    inputs = {"vocab": "vocab.txt", "bigrams": "bigrams.txt" if cfg.n_bigrams else None,
              "lexicon": "lexicon.npz" if cfg.lexicon_width else None,
              "lexicon_categories": list(categories_for(cfg.lexicon_width)), "lexicon_set_size": WORD_SET_SIZE}
    if cfg.lac_rows:
        inputs["lac_tokens"] = "lac_tokens.npz"
    if cfg.lexicon_width:  # the runtime reads the packed form: several times faster to load than the .tsv
        lexicon = Lexicon.read(out / "lexicon.tsv", categories_for(cfg.lexicon_width), WORD_SET_SIZE)
        lexicon.write_packed(out / "lexicon.npz")
    model.net.export_onnx(out / "model.fp32.onnx")
    model.crf.save(out / "crf.npz")
    fp32 = measured_variant(out, "fp32", "model.fp32.onnx", "the trained network, exported to ONNX in float32")
    manifest = new_manifest(out, labels, cfg.to_dict(), inputs, training, max_length)
    write_manifest(out, manifest.with_variant(fp32, default=True))
    info = quantize(out / "model.fp32.onnx", out / "model.int8.onnx")
    description = ("ONNX Runtime dynamic INT8: MatMul, LSTM and embedding Gather weights int8 (per tensor)"
                   + ("; LAC's GRU layers stay float32 (ONNX Runtime has no quantized GRU)" if cfg.lac_dim else ""))
    register_variant(out, measured_variant(out, "int8", "model.int8.onnx", description, batch_invariant=False))
    print("int8 ops:", info["ops_after"])
    add_emb4_variant(out, "fp32", None)
    if data is None:
        return read_manifest(out).to_dict()
    dev = read_conll(data / "dev.txt")
    agree = torch_onnx_agreement(out, model, labels, [s.text for s in dev])
    print(f"torch vs ONNX fp32: identical entities on {agree:.2%} of dev sentences")
    score_variants(out, data)  # dev only: test reports a release (compression.release, adopt --test), not a build
    checks = {"torch_onnx_fp32_identical_dev_sentences": round(agree, 4)}
    write_manifest(out, replace(read_manifest(out), checks=checks))
    print("default variant:", choose_default(out))
    return read_manifest(out).to_dict()
