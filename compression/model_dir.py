"""A build's model directory: its first manifest, its variants registered with their measured size, parameters
and scores, and the choice of its default."""
from __future__ import annotations

import argparse
import datetime as dt
import filecmp
import shutil
from dataclasses import replace
from pathlib import Path

import raner
from raner.manifest import Manifest, Variant, read_manifest, write_manifest

from .data import read_conll
from .onnx_info import parameter_count
from .scoring import evaluate


def new_manifest(out: Path, labels: list[str], network: dict, inputs: dict, training: dict, max_length: int,
                 scheme: str = "BIO") -> Manifest:
    """The manifest of a new model directory before any variant is registered (its default will be fp32)."""
    return Manifest(path=out, name=out.name, labels=tuple(labels), scheme=scheme, max_length=max_length, inputs=inputs,
                    crf="crf.npz", default_variant="fp32", variants={}, created=today(), network=network,
                    training=training)


def measured_variant(out: Path, name: str, file: str, description: str, **fields) -> Variant:
    """A variant of ``out/file`` with its size and parameter count measured from the file (no scores yet)."""
    path = out / file
    return Variant(name=name, file=file, size_bytes=path.stat().st_size, parameters=parameter_count(path),
                   description=description, **fields)


def remeasured(out: Path, variant: Variant) -> Variant:
    """``variant`` with the size and parameter count of its file as it is now (after a rewrite such as fusion)."""
    path = out / variant.file
    return replace(variant, size_bytes=path.stat().st_size, parameters=parameter_count(path))


def score_variants(out: Path, data: Path, names: list[str] | None = None, test: bool = False) -> None:
    """Evaluate variants through the runtime and store the scores: on a folder's dev.txt and per-corpus
    dev.<corpus>.txt (stored as ``dev.<corpus>``), and its test.txt only with ``test`` (a reserved split reports
    a model being shipped, never a candidate being selected); or on one CoNLL file (stored under its stem)."""
    manifest = read_manifest(out)
    if data.is_file():
        splits = {data.stem: read_conll(data)}
    else:
        files = [data / "dev.txt", *([data / "test.txt"] if test else []), *sorted(data.glob("dev.*.txt"))]
        splits = {f.name.removesuffix(".txt"): read_conll(f) for f in files if f.is_file()}
    variants = dict(manifest.variants)
    for name in names or list(variants):
        rec = raner.load(out, variant=name, cache_size=0)
        metrics = dict(variants[name].metrics)
        for split, sentences in splits.items():
            metrics[split] = evaluate(rec, sentences)
            print(f"{name:>12} {split:>4} F1 {metrics[split]['overall']['f1']:.4f}", flush=True)
        variants[name] = replace(variants[name], metrics=metrics)
    write_manifest(out, replace(manifest, variants=variants))


def choose_default(out: Path, candidates: list[str] | None = None, max_drop: float = 0.003) -> str:
    """The smallest candidate (default: every variant but fp32) whose dev F1 is within ``max_drop`` of fp32's
    (selected on dev, never test), made the default."""
    manifest = read_manifest(out)
    variants = manifest.variants
    candidates = [v for v in variants if v != "fp32"] if candidates is None else candidates

    def dev_f1(name: str) -> float | None:
        return variants[name].metrics.get("dev", {}).get("overall", {}).get("f1")

    if dev_f1("fp32") is None:  # exported without scores (--no-eval): nothing to choose by
        return manifest.default_variant
    ok = [c for c in candidates if c in variants and dev_f1(c) is not None and dev_f1("fp32") - dev_f1(c) <= max_drop]
    best = min(ok, key=lambda c: variants[c].size_bytes) if ok else "fp32"
    write_manifest(out, replace(manifest, default_variant=best))
    return best


def today() -> str:
    """Today's date as the manifest records it (ISO 8601)."""
    return dt.date.today().isoformat()


def adopt_variant(out: Path, source: Path, variant: str, name: str, description: str) -> Variant:
    """Add ``source``'s ``variant`` (a model trained with its own vocabularies, such as a distilled student) to
    ``out`` as ``name``: its files are copied under ``name``-prefixed names unless ``out`` has them byte for byte,
    and the variant records the inputs, CRF and network it has of its own."""
    target, src = read_manifest(out), read_manifest(source)
    if src.labels != target.labels:
        raise ValueError(f"{source} tags {src.labels}, {out} {target.labels}: a variant must use the model's labels")
    own = src.variants[variant]
    renamed = {}
    for f in src.variant_files(variant):
        same = (out / f).is_file() and filecmp.cmp(src.file(f), out / f, shallow=False)
        renamed[f] = f if same else (f"model.{name}.onnx" if f == own.file else f"{name}.{f}")
        if not same:
            shutil.copyfile(src.file(f), out / renamed[f])
    inputs = {k: renamed.get(v, v) if isinstance(v, str) else v for k, v in src.variant_inputs(variant).items()}
    own_inputs = {k: v for k, v in inputs.items() if target.inputs.get(k) != v}
    crf = renamed[src.variant_crf(variant)]
    network = own.network or src.network  # a pruned variant records its own, smaller network
    adopted = replace(own, name=name, file=renamed[own.file], size_bytes=(out / renamed[own.file]).stat().st_size,
                      description=description, inputs=own_inputs or None, crf=None if crf == target.crf else crf,
                      network=network if network != target.network else None,
                      total_train_seconds=_total_seconds(src),
                      extra={**own.extra, "training": _training_record(src)})
    write_manifest(out, target.with_variant(adopted))
    return adopted


def _training_record(src: Manifest) -> dict:
    """A run's training record, with its structured pruning (compression.prune) when it has one."""
    return {**(src.training or {}), **({"pruning": src.pruning} if src.pruning else {})}


def _total_seconds(src: Manifest) -> float | None:
    """Training seconds behind a run's variants: its training and its pruning's fine-tune."""
    parts = [(src.training or {}).get("total_train_seconds"), (src.pruning or {}).get("seconds")]
    return round(sum(p for p in parts if p), 1) if any(parts) else None


def parse_adopt(spec: str) -> tuple[Path, str, str]:
    """A command line's ``DIR:VARIANT=NAME`` -> (DIR, VARIANT, NAME)."""
    where, _, name = spec.partition("=")
    folder, _, variant = where.rpartition(":")
    if not (folder and variant and name):
        raise argparse.ArgumentTypeError(f"expected DIR:VARIANT=NAME, got {spec!r}")
    return Path(folder), variant, name
