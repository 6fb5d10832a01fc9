"""Build a served model directory from DAMO's RaNER (ModelScope transformer-crf): ONNX fp32, INT8, pruned, pruned INT8.

python -m compression.transformer.build --model damo/nlp_raner_named-entity-recognition_chinese-base-news \\
    --out models/raner-base-news [--eval ../shared/data/msra/test.txt] [--data ../shared/data/msra] \\
    [--prune-heads 0.5] [--prune-ffn 0.5]

--model is a ModelScope id (downloaded with the modelscope client, pip install modelscope) or a local
directory in ModelScope's layout. The network (StructBERT encoder + linear) goes to ONNX; the CRF scores go
to crf.npz and are decoded by the runtime's constrained Viterbi, so `raner.load(out)` serves the result
like any other model directory. With --data (a folder with train.txt, maybe dev.txt), head/FFN importance
is measured on gold training sentences and the pruned network is fine-tuned; without it, importance uses
the model's own tags on samples/news.txt as pseudo-labels and the pruned variants are not fine-tuned.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

import raner
from raner.benchmark import agreement
from raner.chunking import chunk_spans
from raner.features import read_table
from raner.manifest import read_manifest, register_variant, write_manifest
from raner.markup import read_marked_file
from raner.normalize import normalize
from raner.spans import tags_to_spans
from raner.wordpiece import WordPieceFeaturizer, safe_max_length

from ..data import read_conll
from ..inputs import to_torch
from ..invocation import invocation
from ..model_dir import choose_default, measured_variant, new_manifest, score_variants
from ..quantization import quantize
from .fine_tune import fine_tune
from .head_pruning import HeadPlan, apply_head_plan, make_head_plan, measure_head_importance, parameters
from .network import TransformerCRF, gather_units, unit_nll, viterbi_reference
from .source import SourceError, SourceModel, load_model, read_source, resolve_model
from .unit_labels import Example, make_examples

RANER_NEWS = "damo/nlp_raner_named-entity-recognition_chinese-base-news"
SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "news.txt"
FILES = {"fp32": "model.fp32.onnx", "int8": "model.int8.onnx", "pruned": "model.pruned.onnx",
         "pruned-int8": "model.pruned-int8.onnx"}
INT8_DESCRIPTION = ("ONNX Runtime dynamic INT8: MatMul and embedding Gather weights int8 (per channel), activations "
                    "quantized on the fly")


def sample_pieces(max_length: int) -> list[str]:
    """The bundled news sentences, cut as the runtime cuts text, so each is one network input."""
    pieces = []
    for text, _ in read_marked_file(SAMPLES):
        norm = normalize(text)
        pieces += [text[a:b] for a, b in chunk_spans(norm, max_length) if norm[a:b].strip()]
    return pieces


@torch.no_grad()
def torch_paths(model: TransformerCRF, feat: WordPieceFeaturizer, labels: list[str], scheme: str,
                texts: list[str]) -> list[list[int]]:
    """Word-level tag ids from the torch emissions and the runtime's numpy Viterbi."""
    crf = model.crf.to_runtime(labels, scheme)
    encoded = [feat.encode(normalize(t)) for t in texts]
    emissions, _ = gather_units(model.run(to_torch(feat.batch(encoded))), encoded)
    return [p.tolist() for p in crf.viterbi(emissions.numpy(), [e.n_units for e in encoded])]


@torch.no_grad()
def decoding_check(model: TransformerCRF, feat: WordPieceFeaturizer, labels: list[str], scheme: str,
                   texts: list[str]) -> float:
    """Share of texts whose runtime-Viterbi tags equal a plain torch Viterbi over the same scores."""
    encoded = [feat.encode(normalize(t)) for t in texts]
    emissions, _ = gather_units(model.run(to_torch(feat.batch(encoded))), encoded)
    fast = torch_paths(model, feat, labels, scheme, texts)
    same = sum(fast[i] == (viterbi_reference(emissions[i, : e.n_units], model.crf, labels, scheme) if e.n_units else [])
               for i, e in enumerate(encoded))
    return same / max(len(texts), 1)


@torch.no_grad()
def runtime_check(out: Path, model: TransformerCRF, feat: WordPieceFeaturizer, labels: list[str], scheme: str,
                  texts: list[str], variant: str = "fp32") -> dict:
    """Torch vs the served variant: largest emission difference and the share of texts with identical entities."""
    rec = raner.load(out, variant=variant, cache_size=0)
    encoded = [feat.encode(normalize(t)) for t in texts]
    ref = model.run(to_torch(feat.batch(encoded))).numpy()
    diff = max(float(np.abs(em - ref[i, : len(em)]).max()) for i, em in enumerate(rec.emissions(texts)))
    same = 0
    for text, enc, path in zip(texts, encoded, torch_paths(model, feat, labels, scheme, texts)):
        want = {(k, *enc.char_span(a, b)) for k, a, b in tags_to_spans([labels[j] for j in path], scheme)}
        same += want == {(e.type, e.start, e.end) for e in rec.predict(text)}
    return {"max_abs_emission_difference": round(diff, 6),
            "identical_entities_share": round(same / max(len(texts), 1), 4)}


@torch.no_grad()
def pseudo_examples(model: TransformerCRF, feat: WordPieceFeaturizer, labels: list[str], scheme: str,
                    texts: list[str]) -> list[Example]:
    """The model's own Viterbi tags as labels (for importance when no gold data is given)."""
    paths = torch_paths(model, feat, labels, scheme, texts)
    out = []
    for text, path in zip(texts, paths):
        enc = feat.encode(normalize(text))
        if enc.n_units:
            out.append(Example(normalize(text), enc, path))
    return out


def prune(model: TransformerCRF, feat: WordPieceFeaturizer, examples: list[Example], prune_heads: float,
          prune_ffn: float) -> tuple[TransformerCRF, HeadPlan]:
    """Measure head and FFN-neuron importance one sentence at a time, then cut the least important away."""
    losses = (lambda e=e: unit_nll(model, feat, [e.encoded], [e.tags]) for e in examples)
    heads, neurons = measure_head_importance(model, losses)
    plan = make_head_plan(heads, neurons, prune_heads, prune_ffn)
    return apply_head_plan(model, plan), plan


def read_training(data: Path, limit: int, seed: int) -> list:
    """Up to ``limit`` random sentences of ``data/train.txt``."""
    sentences = read_conll(data / "train.txt")
    random.Random(seed).shuffle(sentences)
    return sentences[:limit] if limit else sentences


def write_base(out: Path, source: SourceModel, model: TransformerCRF, model_ref: str, max_length: int,
               max_tokens: int) -> None:
    """The manifest with the fp32 variant: labels, scheme, WordPiece inputs, CRF file, network shape and source."""
    inputs = {"kind": "wordpiece", "vocab": "vocab.txt", "lowercase": source.lowercase, "max_tokens": max_tokens}
    configuration = json.loads((source.path / "configuration.json").read_text(encoding="utf-8")) \
        if (source.path / "configuration.json").is_file() else {}
    training = {"source": model_ref, "source_dir": str(source.path), "framework": "ModelScope transformer-crf (RaNER)",
                "task": configuration.get("task"), "model_type": source.raw_config.get("model_type")}
    fp32 = measured_variant(out, "fp32", FILES["fp32"],
                            "the RaNER network (StructBERT encoder + linear) exported to ONNX in float32")
    base = new_manifest(out, source.labels, model.shape(), inputs, training, max_length, source.scheme)
    write_manifest(out, base.with_variant(fp32, default=True))


def add_pruned_variants(args: argparse.Namespace, out: Path, model: TransformerCRF, feat: WordPieceFeaturizer,
                        labels: list[str], scheme: str, texts: list[str], train: list) -> TransformerCRF:
    """Prune by importance (gold tags of ``train``, else the model's own tags on ``texts``), fine-tune if there is
    training data, export and quantize; registers "pruned" and "pruned-int8" and returns the pruned torch model."""
    if train:
        pool = make_examples(train[: args.importance_sentences], feat, labels, scheme)
        origin = f"gold tags of {len(pool)} sentences of {args.data / 'train.txt'}"
    else:
        pool = pseudo_examples(model, feat, labels, scheme, texts[: args.importance_sentences])
        origin = f"the model's own tags on {len(pool)} sentences of samples/news.txt"
    t0 = time.time()
    pruned, plan = prune(model, feat, pool, args.prune_heads, args.prune_ffn)
    before, after = model.shape(), pruned.shape()
    sizes = (f"attention heads {sum(before['heads'])}->{sum(after['heads'])}, "
             f"FFN neurons {sum(before['intermediate'])}->{sum(after['intermediate'])}")
    print(f"pruned by importance ({origin}; {time.time() - t0:.0f}s): {sizes}, "
          f"parameters {parameters(model):,}->{parameters(pruned):,}")
    tuned = ""
    if train and args.finetune_steps:
        examples = make_examples(train[: args.finetune_steps * args.batch_size], feat, labels, scheme)
        fine_tune(pruned, model, feat, examples, args.finetune_steps, args.batch_size, args.lr, args.distill, args.seed)
        tuned = (f"; fine-tuned {args.finetune_steps} steps of {args.batch_size} on {args.data / 'train.txt'}"
                 + (f", distilled from fp32 (weight {args.distill})" if args.distill else ""))
    pruned.export_onnx(out / FILES["pruned"])
    quantize(out / FILES["pruned"], out / FILES["pruned-int8"], per_channel=True)
    desc = f"structured pruning: {sizes} by gradient importance on {origin}{tuned}"
    for name, extra in (("pruned", ""), ("pruned-int8", "; then dynamic INT8")):
        register_variant(out, measured_variant(out, name, FILES[name], desc + extra, network=after,
                                               batch_invariant=name == "pruned"))
    pruning = {"heads": args.prune_heads, "ffn": args.prune_ffn, "importance": origin, "kept": plan.to_dict(),
               "fine_tune_steps": args.finetune_steps if train else 0}
    write_manifest(out, replace(read_manifest(out), pruning=pruning))
    return pruned


def build(args: argparse.Namespace) -> dict:
    """Every step of the command; returns the final manifest."""
    started = time.time()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    src = resolve_model(args.model, args.cache_dir)
    source = read_source(src)
    model = load_model(source)
    labels, scheme = source.labels, source.scheme
    print(f"{src}: {model.shape()['layers']} layers, {len(labels)} labels ({scheme}), {parameters(model):,} parameters")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "vocab.txt", out / "vocab.txt")
    max_tokens = min(512, source.config.max_position_embeddings)
    max_length = args.max_length or safe_max_length(max_tokens)
    feat = WordPieceFeaturizer(read_table(out / "vocab.txt"), source.lowercase, max_tokens)
    texts = sample_pieces(max_length)
    check_texts = texts[: args.check_sentences]

    decode = decoding_check(model, feat, labels, scheme, check_texts)
    print(f"runtime Viterbi vs torch reference Viterbi: identical tags on {decode:.0%} of {len(check_texts)} sentences")
    if decode < 1.0:
        raise SourceError("the runtime's Viterbi disagrees with the torch reference; "
                          "the CRF scores are not read as stored")

    model.export_onnx(out / FILES["fp32"])
    model.crf.save(out / "crf.npz")
    write_base(out, source, model, str(args.model), max_length, max_tokens)
    checks = {"torch_viterbi_identical_sentences": decode,
              "fp32": runtime_check(out, model, feat, labels, scheme, check_texts)}
    print(f"torch vs ONNX fp32: {checks['fp32']}")

    quantize(out / FILES["fp32"], out / FILES["int8"], per_channel=True)
    register_variant(out, measured_variant(out, "int8", FILES["int8"], INT8_DESCRIPTION, batch_invariant=False))
    variants = ["fp32", "int8"]

    train = read_training(args.data, args.train_sentences, args.seed) if args.data else []
    if args.prune_heads or args.prune_ffn:
        pruned = add_pruned_variants(args, out, model, feat, labels, scheme, texts, train)
        checks["pruned"] = runtime_check(out, pruned, feat, labels, scheme, check_texts, "pruned")
        variants += ["pruned", "pruned-int8"]

    fp32 = raner.load(out, variant="fp32", cache_size=0)
    for name in variants[1:]:
        checks[f"{name}_vs_fp32_entity_agreement"] = agreement(fp32, fp32.with_variant(name), texts)["agreement"]
    manifest = read_manifest(out)
    training = {**(manifest.training or {}), "seconds": round(time.time() - started, 1),
                "command": invocation("compression.transformer.build", args.argv)}
    write_manifest(out, replace(manifest, checks=checks, training=training))
    print("agreement with fp32 on samples/news.txt: "
          + ", ".join(f"{n} {checks[f'{n}_vs_fp32_entity_agreement']:.3f}" for n in variants[1:]))

    if args.data and (args.data / "dev.txt").is_file():
        score_variants(out, args.data / "dev.txt")
    if args.eval:
        score_variants(out, args.eval)
    manifest = read_manifest(out)
    if "dev" in manifest.variants["fp32"].metrics:
        print(f"default variant (dev F1 within 0.3 points of fp32, smallest): {choose_default(out, variants[1:])}")
    else:
        default = args.default if args.default in manifest.variants else "fp32"
        write_manifest(out, replace(manifest, default_variant=default))
    return read_manifest(out).to_dict()


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=RANER_NEWS, help=f"ModelScope id or local directory (default {RANER_NEWS})")
    ap.add_argument("--out", type=Path, required=True, help="model directory to write, e.g. models/raner-base-news")
    ap.add_argument("--eval", type=Path, default=None, help="a CoNLL file (char<TAB>tag) to score every variant on")
    ap.add_argument("--data", type=Path, default=None,
                    help="folder with train.txt (and dev.txt): gold importance, fine-tune after pruning, "
                         "default choice on dev")
    ap.add_argument("--prune-heads", type=float, default=0.5, help="share of attention heads to remove (0: none)")
    ap.add_argument("--prune-ffn", type=float, default=0.5,
                    help="share of each layer's FFN neurons to remove (0: none)")
    ap.add_argument("--importance-sentences", type=int, default=64, help="sentences to measure importance on")
    ap.add_argument("--finetune-steps", type=int, default=300, help="fine-tuning steps after pruning (with --data)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--distill", type=float, default=1.0,
                    help="weight of emission distillation from fp32 while fine-tuning")
    ap.add_argument("--train-sentences", type=int, default=0,
                    help="read only this many random train sentences (0: all)")
    ap.add_argument("--max-length", type=int, default=0,
                    help="characters per network input "
                         "(default: the most that can never exceed the model's 512 tokens)")
    ap.add_argument("--default", default="int8", help="default variant when there is no dev.txt to choose on")
    ap.add_argument("--check-sentences", type=int, default=16,
                    help="sentences of samples/news.txt for the torch/ONNX checks")
    ap.add_argument("--cache-dir", type=Path, default=None, help="where the ModelScope client keeps downloads")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--seed", type=int, default=13)
    return ap


def main(argv: list[str] | None = None) -> dict:
    ap = parser()
    args = ap.parse_args(argv)
    args.argv = argv
    if args.eval and not args.eval.is_file():
        ap.error(f"--eval {args.eval}: no such CoNLL file")
    if args.data and not (args.data / "train.txt").is_file():
        ap.error(f"--data {args.data}: no train.txt there")
    if not (0 <= args.prune_heads < 1 and 0 <= args.prune_ffn < 1):
        ap.error("--prune-heads and --prune-ffn are shares in [0, 1)")
    try:
        return build(args)
    except SourceError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
