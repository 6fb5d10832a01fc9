"""Structured pruning of the tagger that physically shrinks it: BiLSTM hidden units (all four gates, their recurrent
columns and every downstream input), attention heads (Q/K/V rows and output columns) and rare bigram-embedding rows
(mapped to [UNK]), ranked by measured importance. The CRF is never pruned. Also the cut of rare rows from an exported
network's bigram table alone, on its ONNX graph."""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import onnx
import torch
from onnx import numpy_helper

from raner.features import SPECIALS, bigram_keys, read_table, write_table
from raner.manifest import copy_model, write_manifest
from raner.normalize import normalize

from .data import Sentence
from .inputs import to_tensors
from .model import NetConfig, Tagger
from .onnx_info import parameter_count

BIGRAM_TABLE = "bigram_emb.weight"  # the exported graph's name for the bigram embedding table


@dataclass
class UnitPlan:
    """What survives: indices of kept forward/backward LSTM units, heads and bigram rows."""

    keep_fwd: list[int]
    keep_bwd: list[int]
    keep_heads: list[int]
    keep_bigrams: list[int] | None = None
    bigram_rank: int = 0  # >0: factorize the kept bigram table to this rank (truncated SVD)


def measure_unit_importance(model: Tagger, feat, sentences: list[Sentence], labels: list[str], batches: int = 100,
                       batch_size: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    """First-order Taylor importance |h * dL/dh| of each BiLSTM unit, and |dL/d mask| of each head
    (Michel et al. 2019)."""
    net = model.net
    net.eval()
    hidden, heads = net.cfg.hidden, net.cfg.heads
    unit_score = torch.zeros(2 * hidden)
    head_score = torch.zeros(max(heads, 1))
    if net.attn is not None:
        net.attn.head_mask = torch.ones(heads, requires_grad=True)
    net.keep_probe = True
    tag_id = {t: i for i, t in enumerate(labels)}
    rng = random.Random(seed)
    sample = rng.sample(sentences, min(len(sentences), batches * batch_size))
    try:
        for s in range(0, len(sample), batch_size):
            chunk = sample[s : s + batch_size]
            texts, tags = [normalize(x.text) for x in chunk], [[tag_id[t] for t in x.tags] for x in chunk]
            batch, gold = to_tensors(feat, texts, tags)
            model.zero_grad()
            if net.attn is not None:
                net.attn.head_mask.grad = None
            loss = model.loss(batch, gold)
            loss.backward()
            mask = (torch.arange(gold.shape[1]).unsqueeze(0) < batch["lengths"].unsqueeze(1)).unsqueeze(2)
            unit_score += ((net.probe * net.probe.grad).abs() * mask).sum((0, 1)).detach()
            if net.attn is not None:
                head_score += net.attn.head_mask.grad.abs().detach()
    finally:
        net.keep_probe, net.probe = False, None
        if net.attn is not None:
            net.attn.head_mask = None
    return {"fwd": unit_score[:hidden], "bwd": unit_score[hidden:], "heads": head_score[:heads]}


def bigram_counts(texts: list[str]) -> Counter:
    """How often each bigram key occurs in the (normalized) texts."""
    return Counter(k for t in texts for k in bigram_keys(normalize(t)))


def make_unit_plan(importance: dict, hidden: int, heads: int, bigram_vocab: dict[str, int] | None = None,
                   counts: Counter | None = None, bigram_min_count: int = 0) -> UnitPlan:
    """Keep the ``hidden`` most important units per direction, the ``heads`` best heads, and bigrams seen often
    enough."""
    def top(scores: torch.Tensor, k: int) -> list[int]:
        return sorted(torch.argsort(scores, descending=True)[:k].tolist())

    keep_bigrams = None
    if bigram_vocab is not None and bigram_min_count:
        keep_bigrams = [i for k, i in sorted(bigram_vocab.items(), key=lambda kv: kv[1])
                        if i < 2 or counts.get(k, 0) >= bigram_min_count]
    return UnitPlan(top(importance["fwd"], hidden), top(importance["bwd"], hidden),
                     top(importance["heads"], heads) if len(importance["heads"]) else [], keep_bigrams)


def _lstm_rows(keep: list[int], hidden: int) -> list[int]:
    return [g * hidden + k for g in range(4) for k in keep]


def apply_unit_plan(model: Tagger, plan: UnitPlan) -> Tagger:
    """A new, smaller Tagger computing what ``model`` computes with the dropped units and heads silenced."""
    old = model.net
    cfg: NetConfig = old.cfg
    assert len(plan.keep_fwd) == len(plan.keep_bwd), "both directions keep the same number of units"
    new_cfg = replace(cfg, hidden=len(plan.keep_fwd), heads=len(plan.keep_heads) if old.attn is not None else 0,
                      n_bigrams=len(plan.keep_bigrams) if plan.keep_bigrams is not None else cfg.n_bigrams,
                      bigram_rank=plan.bigram_rank or cfg.bigram_rank)
    pruned = Tagger(new_cfg, sparse=True)
    net = pruned.net
    with torch.no_grad():
        net.char_emb.weight.copy_(old.char_emb.weight)
        if old.word_emb is not None:
            net.word_emb.weight.copy_(old.word_emb.weight)
        if old.lac is not None:
            net.lac.load_state_dict(old.lac.state_dict())
        if old.lac_chars is not None:
            net.lac_chars.load_state_dict(old.lac_chars.state_dict())
        if old.bigram_emb is not None:
            rows = plan.keep_bigrams if plan.keep_bigrams is not None else list(range(cfg.n_bigrams))
            table = old.bigram_emb.weight[rows]
            if old.bigram_up is not None:
                table = table @ old.bigram_up.weight.T
            if new_cfg.bigram_rank:
                u, sv, vt = torch.linalg.svd(table, full_matrices=False)
                k = new_cfg.bigram_rank
                net.bigram_emb.weight.copy_(u[:, :k] * sv[:k])
                net.bigram_up.weight.copy_(vt[:k].T)
            else:
                net.bigram_emb.weight.copy_(table)
        for name, keep in (("fwd", plan.keep_fwd), ("bwd", plan.keep_bwd)):
            src, dst = getattr(old, name), getattr(net, name)
            rows = _lstm_rows(keep, cfg.hidden)
            dst.weight_ih_l0.copy_(src.weight_ih_l0[rows])
            dst.weight_hh_l0.copy_(src.weight_hh_l0[rows][:, keep])
            dst.bias_ih_l0.copy_(src.bias_ih_l0[rows])
            dst.bias_hh_l0.copy_(src.bias_hh_l0[rows])
        dims = plan.keep_fwd + [cfg.hidden + k for k in plan.keep_bwd]
        if net.attn is not None:  # every head dropped (--heads 0): the attention block goes with them
            hd = cfg.head_dim
            cols = [h * hd + j for h in plan.keep_heads for j in range(hd)]
            for proj in ("q", "k", "v"):
                getattr(net.attn, proj).weight.copy_(getattr(old.attn, proj).weight[cols][:, dims])
                getattr(net.attn, proj).bias.copy_(getattr(old.attn, proj).bias[cols])
            net.attn.out.weight.copy_(old.attn.out.weight[dims][:, cols])
            net.attn.out.bias.copy_(old.attn.out.bias[dims])
        net.emit.weight.copy_(old.emit.weight[:, dims])
        net.emit.bias.copy_(old.emit.bias)
        pruned.crf.load_state_dict(model.crf.state_dict())
    return pruned


def emission_distill_loss(teacher: Tagger, teacher_feat, weight: float):
    """MSE between student and teacher emissions on the same texts (teacher uses its own vocabulary)."""
    def loss(texts: list[str], batch: dict, emissions: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            tb = to_tensors(teacher_feat, texts)
            target = teacher.net.run(tb)
        mask = (torch.arange(emissions.shape[1]).unsqueeze(0) < batch["lengths"].unsqueeze(1)).unsqueeze(2)
        return weight * (((emissions - target) ** 2) * mask).sum() / mask.sum().clamp(min=1)
    return loss


def cut_bigram_table(source: Path, out: Path, counts: Counter, min_count: int) -> tuple[int, int]:
    """Copy run ``source``'s fp32 network to the run ``out`` with only the bigram rows seen at least ``min_count``
    times (``counts``: training bigram counts) kept, in their order; rarer bigrams then read as [UNK]. Works on the
    ONNX graph, so every other weight stays bit for bit. Returns the rows before and after."""
    manifest = copy_model(source, out, ["fp32"])
    entries = read_table(manifest.file(manifest.inputs["bigrams"]))
    keep = [i for key, i in sorted(entries.items(), key=lambda e: e[1]) if key in SPECIALS or counts[key] >= min_count]
    graph = onnx.load(str(out / manifest.variants["fp32"].file))
    tables = [t for t in graph.graph.initializer if t.name == BIGRAM_TABLE]
    if len(tables) != 1 or tables[0].dims[0] != len(entries):
        raise ValueError(f"{source}: no {BIGRAM_TABLE} of {len(entries)} rows in the fp32 graph")
    cut = numpy_helper.from_array(numpy_helper.to_array(tables[0])[keep], BIGRAM_TABLE)
    tables[0].CopyFrom(cut)
    onnx.save(graph, str(out / manifest.variants["fp32"].file))
    names = {i: key for key, i in entries.items()}
    write_table(out / manifest.inputs["bigrams"], [names[i] for i in keep])
    fp32 = manifest.variants["fp32"]
    kept = sum(1 for i in keep if names[i] not in SPECIALS)
    description = (f"{fp32.description}; its bigram table cut to the {kept:,} bigrams seen at least "
                   f"{min_count} times in training (rarer ones read as unknown), every other weight unchanged")
    fp32 = replace(fp32, size_bytes=(out / fp32.file).stat().st_size, parameters=parameter_count(out / fp32.file),
                   description=description, metrics={})
    write_manifest(out, replace(manifest, network={**manifest.network, "n_bigrams": len(keep)},
                                variants={"fp32": fp32}))
    return len(entries), len(keep)
