"""An ensemble variant: several exported members run side by side in one ONNX graph whose emissions are their mean,
decoded with the members' averaged CRF scores.

Members must share the model directory's vocabularies (same training text, same lexicon); one member may read
more inputs than the others (LAC's words), and the variant then takes that member's extra input files.
"""
from __future__ import annotations

import filecmp
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
from onnx import compose, helper, numpy_helper

from raner.manifest import Member, read_manifest, register_variant, write_manifest

from .model_dir import measured_variant, score_variants

INPUT_FILE_KEYS = ("vocab", "bigrams", "lexicon", "lac_tokens")


def merge_graphs(files: list[Path], out: Path) -> None:
    """One graph that feeds the shared inputs to every member and outputs the mean of their ``emissions``."""
    members = [onnx.load(str(f)) for f in files]
    inputs: dict[str, onnx.ValueInfoProto] = {}
    nodes, inits, opsets = [], [], {}
    outputs = []
    for i, m in enumerate(members):
        for op in m.opset_import:
            opsets[op.domain] = max(opsets.get(op.domain, 0), op.version)
        prefix = f"m{i}/"
        p = compose.add_prefix(m, prefix, rename_inputs=True, rename_outputs=True)
        for x in m.graph.input:
            inputs.setdefault(x.name, x)
            nodes.append(helper.make_node("Identity", [x.name], [prefix + x.name], name=f"{prefix}feed_{x.name}"))
        nodes.extend(p.graph.node)
        inits.extend(p.graph.initializer)
        outputs.append(prefix + m.graph.output[0].name)
    inits.append(numpy_helper.from_array(np.array(1.0 / len(members), dtype=np.float32), "ensemble/scale"))
    nodes.append(helper.make_node("Sum", outputs, ["ensemble/sum"], name="ensemble/sum"))
    nodes.append(helper.make_node("Mul", ["ensemble/sum", "ensemble/scale"], ["emissions"], name="ensemble/mean"))
    nodes, inits = share_identical_weights(nodes, inits)
    graph = helper.make_graph(nodes, "ensemble", list(inputs.values()), [members[0].graph.output[0]], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = max(m.ir_version for m in members)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


def share_identical_weights(nodes: list, inits: list) -> tuple[list, list]:
    """Keep one copy of weights that several members hold byte for byte (LAC's frozen encoder, say) and point every
    node at it, so ONNX Runtime's common-subexpression elimination can also run the shared computation once."""
    first: dict[bytes, str] = {}
    rename: dict[str, str] = {}
    kept = []
    for t in inits:
        unnamed = onnx.TensorProto()
        unnamed.CopyFrom(t)
        unnamed.name = ""
        key = unnamed.SerializeToString(deterministic=True)
        if key in first:
            rename[t.name] = first[key]
        else:
            first[key] = t.name
            kept.append(t)
    for node in nodes:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    return nodes, kept


def mean_crf(dirs: list[Path]) -> dict[str, np.ndarray]:
    """The model directories' start, end and transition scores, averaged."""
    crfs = [np.load(d / read_manifest(d).crf) for d in dirs]
    return {k: np.mean([c[k] for c in crfs], axis=0).astype(np.float32) for k in ("start", "end", "transitions")}


def shared_inputs(out: Path, members: list[Path]) -> dict:
    """The input files the ensemble reads: the union of the members', each checked identical to the model's own
    and copied in where the model directory lacks it."""
    own = read_manifest(out).inputs
    union = dict(own)
    for d in members:
        for key, value in read_manifest(d).inputs.items():
            if key not in INPUT_FILE_KEYS:
                if union.get(key, value) != value:
                    raise ValueError(f"member {d} has {key}={value!r}, the model {union[key]!r}")
                union[key] = value
                continue
            if key in union:
                if not filecmp.cmp(d / value, out / union[key], shallow=False):
                    raise ValueError(f"member {d}: {value} differs from {out / union[key]}; "
                                     "members must share vocabularies")
            else:
                shutil.copyfile(d / value, out / value)
                union[key] = value
    return union


def member_record(d: Path) -> Member:
    """Where a member came from: its directory at build time and how it was trained (command, dev F1, seconds)."""
    info = d / "training.json"
    training = json.loads(info.read_text(encoding="utf-8")) if info.is_file() else read_manifest(d).training or {}
    keep = ("command", "recipe", "best_dev_f1", "train_seconds", "total_train_seconds", "threads")
    return Member(str(d), {k: training[k] for k in keep if k in training})


def add_ensemble_variant(out: Path, members: list[Path], variant: str, data: Path | None) -> str:
    """Write and register ``ensemble-<variant>``: each member's ``variant`` graph, run together."""
    name = f"ensemble-{variant}"
    chosen = [read_manifest(d).variants[variant] for d in members]
    files = [d / v.file for d, v in zip(members, chosen)]
    inputs = shared_inputs(out, members)
    merge_graphs(files, out / f"model.{name}.onnx")
    np.savez(out / "crf.ensemble.npz", **mean_crf(members))
    own = read_manifest(out).inputs
    records = tuple(member_record(d) for d in members)
    spent = [m.training.get("total_train_seconds", m.training.get("train_seconds")) for m in records]
    register_variant(out, measured_variant(
        out, name, f"model.{name}.onnx",
        f"{len(members)} independently trained members ({', '.join(d.name for d in members)}), "
        f"each as its {variant} variant, run in one graph; emissions and CRF scores averaged",
        inputs={k: v for k, v in inputs.items() if own.get(k) != v}, crf="crf.ensemble.npz", members=records,
        total_train_seconds=round(sum(spent), 1) if all(spent) else None,
        batch_invariant=all(v.batch_invariant for v in chosen)))
    if data is not None:
        score_variants(out, data, [name])
    return name


def prefer_if_better(out: Path, names: list[str]) -> str:
    """Make the best of ``names`` (by dev F1) the default if it beats the current default on dev; returns the
    default."""
    manifest = read_manifest(out)
    dev = {n: manifest.variants[n].metrics["dev"]["overall"]["f1"] for n in [*names, manifest.default_variant]}
    best = max(names, key=dev.get)
    if dev[best] > dev[manifest.default_variant]:
        manifest = replace(manifest, default_variant=best)
        write_manifest(out, manifest)
    print(f"default variant: {manifest.default_variant} (dev F1 {dev})")
    return manifest.default_variant
