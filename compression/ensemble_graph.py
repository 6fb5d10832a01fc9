"""An ensemble variant: several exported members run side by side in one ONNX graph whose emissions are their mean,
decoded with the members' averaged CRF scores.

Members read the model directory's inputs. A member whose character or bigram vocabulary differs (a student with a
pruned table) gets the model's ids translated to its own inside the graph, an entry it lacks read as its unknown id,
as its own vocabulary would read the text (an entry only the member knows reaches it as unknown: the model's inputs
cannot name it); lexicons must match. One member may read more inputs than the others (LAC's
words), and the variant then takes that member's extra input files.
"""
from __future__ import annotations

import filecmp
import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx
from onnx import compose, helper, numpy_helper

from raner.features import UNK, read_table
from raner.manifest import Member, read_manifest, register_variant, write_manifest

from .bilstm_fusion import fuse_bilstm
from .model_dir import measured_variant, score_variants
from .word_set_sum import split_word_set_sum

INPUT_FILE_KEYS = ("vocab", "bigrams", "lexicon", "lac_tokens")
REMAPPABLE = {"vocab": "chars", "bigrams": "bigrams"}  # input file -> the graph input holding its ids


@dataclass(frozen=True)
class MemberSpec:
    """One member of an ensemble: an exported model directory and the variant of it that runs."""

    dir: Path
    variant: str

    @classmethod
    def parse(cls, text: str, default_variant: str) -> MemberSpec:
        """``DIR`` or ``DIR:VARIANT``."""
        d, sep, v = text.rpartition(":")
        return cls(Path(d), v) if sep and d else cls(Path(text), default_variant)


def merge_graphs(files: list[Path], out: Path, remaps: list[dict[str, np.ndarray]] | None = None) -> None:
    """One graph that feeds the shared inputs to every member and outputs the mean of their ``emissions``, each
    member's two LSTMs fused and its word-set sum split as the served variants' are (compression.release);
    ``remaps[i]`` maps an input's ids to member i's own (a lookup table per input name) where its vocabulary differs."""
    members = [onnx.load(str(f)) for f in files]
    for m in members:  # in the form the served variants take (a member straight from a run is not yet)
        fuse_bilstm(m)
        split_word_set_sum(m)
    remaps = remaps or [{} for _ in files]
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
            table = remaps[i].get(x.name)
            if table is None:
                nodes.append(helper.make_node("Identity", [x.name], [prefix + x.name], name=f"{prefix}feed_{x.name}"))
                continue
            inits.append(numpy_helper.from_array(table.astype(np.int64), f"{prefix}remap/{x.name}"))
            nodes.append(helper.make_node("Gather", [f"{prefix}remap/{x.name}", x.name], [prefix + x.name],
                                          name=f"{prefix}remap_{x.name}"))
        nodes.extend(p.graph.node)
        inits.extend(p.graph.initializer)
        outputs.append(prefix + m.graph.output[0].name)
    inits.append(numpy_helper.from_array(np.array(1.0 / len(members), dtype=np.float32), "ensemble/scale"))
    nodes.append(helper.make_node("Sum", outputs, ["ensemble/sum"], name="ensemble/sum"))
    nodes.append(helper.make_node("Mul", ["ensemble/sum", "ensemble/scale"], ["emissions"], name="ensemble/mean"))
    nodes, inits = share_identical_weights(nodes, inits)
    nodes = run_shared_nodes_once(nodes)
    graph = helper.make_graph(nodes, "ensemble", list(inputs.values()), [members[0].graph.output[0]], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = max(m.ir_version for m in members)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


def share_identical_weights(nodes: list, inits: list) -> tuple[list, list]:
    """Keep one copy of weights that several members hold byte for byte (LAC's frozen encoder, say) and point every
    node at it, so that the computation on them can be shared too (``run_shared_nodes_once``)."""
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


RANDOM_OPS = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli"}


def run_shared_nodes_once(nodes: list) -> list:
    """Drop each node that repeats an earlier one (same operator, attributes and inputs, so the same outputs) and read
    the earlier node's outputs instead: members that share weights and inputs (two networks over LAC's frozen encoder)
    then run that part once. ONNX Runtime does not do this itself (a graph merged with itself took twice the time of
    one). ``nodes`` must be in topological order; nodes with subgraphs or random outputs are kept as they are."""
    def has_graph(node) -> bool:
        return any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute)

    if any(has_graph(n) for n in nodes):
        return nodes  # names read inside subgraphs are not rewritten here; leave such graphs alone
    seen: dict[tuple, list[str]] = {}
    rename: dict[str, str] = {}
    kept = []
    for node in nodes:
        for i, name in enumerate(node.input):
            node.input[i] = rename.get(name, name)
        key = (node.domain, node.op_type, tuple(node.input), tuple(bool(o) for o in node.output),  # optional outputs
               tuple(a.SerializeToString(deterministic=True) for a in sorted(node.attribute, key=lambda a: a.name)))
        earlier = None if node.op_type in RANDOM_OPS else seen.get(key)
        if earlier is not None:
            rename.update({new: old for new, old in zip(node.output, earlier) if new})
            continue
        seen.setdefault(key, list(node.output))
        kept.append(node)
    return kept


def mean_crf(dirs: list[Path], variants: list[str] | None = None) -> dict[str, np.ndarray]:
    """The start, end and transition scores of the model directories (each variant's own CRF where given), averaged."""
    names = [read_manifest(d).variant_crf(v) if v else read_manifest(d).crf
             for d, v in zip(dirs, variants or [None] * len(dirs))]
    crfs = [np.load(d / name) for d, name in zip(dirs, names)]
    return {k: np.mean([c[k] for c in crfs], axis=0).astype(np.float32) for k in ("start", "end", "transitions")}


def id_remap(own: Path, member: Path) -> np.ndarray:
    """For each id of the model's vocabulary file ``own``, the member's id of the same entry, or the member's unknown
    id for entries it lacks (what the member's own vocabulary would give the text)."""
    theirs, ours = read_table(member), read_table(own)
    if UNK not in theirs:
        raise ValueError(f"{member} has no {UNK} entry, so the model's entries it lacks cannot be read")
    table = np.full(max(ours.values(), default=-1) + 1, theirs[UNK], dtype=np.int64)  # a repeated line: its last id
    for entry, i in ours.items():
        table[i] = theirs.get(entry, theirs[UNK])
    return table


def shared_inputs(out: Path, members: list[MemberSpec]) -> tuple[dict, list[dict[str, np.ndarray]]]:
    """The input files the ensemble reads (the union of the members': the model's own, and a member's extra files
    copied in where the model directory lacks them) and, per member, the id tables of vocabularies that differ from
    the model's. Anything else that differs (lexicons, settings) is refused."""
    own = read_manifest(out).inputs
    union = dict(own)
    remaps: list[dict[str, np.ndarray]] = []
    for spec in members:
        d, remap = spec.dir, {}
        for key, value in read_manifest(d).variant_inputs(spec.variant).items():
            if key not in INPUT_FILE_KEYS:
                if union.get(key, value) != value:
                    raise ValueError(f"member {d} has {key}={value!r}, the model {union[key]!r}")
                union[key] = value
            elif key not in union:
                shutil.copyfile(d / value, out / value)
                union[key] = value
            elif not filecmp.cmp(d / value, out / union[key], shallow=False):
                if key not in REMAPPABLE:
                    raise ValueError(f"member {d}: {value} differs from {out / union[key]}; "
                                     f"members must share the {key} file")
                remap[REMAPPABLE[key]] = id_remap(out / union[key], d / value)
        remaps.append(remap)
    return union, remaps


def member_record(spec: MemberSpec) -> Member:
    """Where a member came from: its directory and variant at build time and how it was trained (command, dev F1,
    seconds)."""
    d = spec.dir
    manifest = read_manifest(d)
    info = d / "training.json"
    training = (json.loads(info.read_text(encoding="utf-8")) if info.is_file()
                else manifest.variants[spec.variant].extra.get("training") or manifest.training or {})
    keep = ("command", "recipe", "best_dev_f1", "train_seconds", "total_train_seconds", "threads")
    return Member(f"{d}:{spec.variant}", {k: training[k] for k in keep if k in training})


def add_ensemble_variant(out: Path, members: list[MemberSpec], name: str, data: Path | None,
                         test: bool = False) -> str:
    """Write and register the variant ``name``: each member's graph, run together on the model's inputs; scored on
    ``data``'s dev splits (and its test split with ``test``) when given."""
    chosen = [read_manifest(m.dir).variants[m.variant] for m in members]
    files = [m.dir / v.file for m, v in zip(members, chosen)]
    inputs, remaps = shared_inputs(out, members)
    merge_graphs(files, out / f"model.{name}.onnx", remaps)
    crf = f"crf.{name}.npz"
    np.savez(out / crf, **mean_crf([m.dir for m in members], [m.variant for m in members]))
    own = read_manifest(out).inputs
    records = tuple(member_record(m) for m in members)
    spent = [m.training.get("total_train_seconds", m.training.get("train_seconds")) for m in records]
    register_variant(out, measured_variant(
        out, name, f"model.{name}.onnx",
        f"{len(members)} networks ({', '.join(f'{m.dir.name}:{m.variant}' for m in members)}) run in one graph; "
        "emissions and CRF scores averaged",
        inputs={k: v for k, v in inputs.items() if own.get(k) != v}, crf=crf, members=records,
        total_train_seconds=round(sum(spent), 1) if all(spent) else None,
        batch_invariant=all(v.batch_invariant for v in chosen)))
    if data is not None:
        score_variants(out, data, [name], test=test)
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
