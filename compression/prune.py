"""Structured pruning that physically shrinks the network, then a short (distilled) fine-tune.

Removes BiLSTM hidden units (all four gates, their recurrent columns and every downstream input),
attention heads (Q/K/V rows and output columns) and rare bigram-embedding rows (mapped to [UNK]),
ranked by measured importance. The CRF is never pruned.

python -m compression.prune models/msra-base --hidden 96 --heads 2 --bigram-min-count 5
"""
from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from raner.features import bigram_keys, read_table, write_table
from raner.manifest import read_manifest, register_variant, write_manifest
from raner.normalize import normalize

from .data import DEFAULT_DATA, Sentence, read_conll
from .export import export_onnx, load_checkpoint
from .model import NetConfig, Tagger
from .model_dir import choose_default, measured_variant, score_variants
from .quantize import add_emb4_variant, quantize
from .train import CHECKPOINT, Optimizers, dev_f1, featurizer_for, save_checkpoint, seed_everything, to_tensors, train_epoch


@dataclass
class PrunePlan:
    """What survives: indices of kept forward/backward LSTM units, heads and bigram rows."""

    keep_fwd: list[int]
    keep_bwd: list[int]
    keep_heads: list[int]
    keep_bigrams: list[int] | None = None
    bigram_rank: int = 0  # >0: factorize the kept bigram table to this rank (truncated SVD)


def measure_importance(model: Tagger, feat, sentences: list[Sentence], labels: list[str], batches: int = 100,
                       batch_size: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    """First-order Taylor importance |h * dL/dh| of each BiLSTM unit, and |dL/d mask| of each head (Michel et al. 2019)."""
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
            batch, gold = to_tensors(feat, [normalize(x.text) for x in chunk], [[tag_id[t] for t in x.tags] for x in chunk])
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
    return Counter(k for t in texts for k in bigram_keys(normalize(t)))


def make_plan(importance: dict, hidden: int, heads: int, bigram_vocab: dict[str, int] | None = None,
              counts: Counter | None = None, bigram_min_count: int = 0) -> PrunePlan:
    """Keep the ``hidden`` most important units per direction, the ``heads`` best heads, and bigrams seen often enough."""
    def top(scores: torch.Tensor, k: int) -> list[int]:
        return sorted(torch.argsort(scores, descending=True)[:k].tolist())

    keep_bigrams = None
    if bigram_vocab is not None and bigram_min_count:
        keep_bigrams = [i for k, i in sorted(bigram_vocab.items(), key=lambda kv: kv[1])
                        if i < 2 or counts.get(k, 0) >= bigram_min_count]
    return PrunePlan(top(importance["fwd"], hidden), top(importance["bwd"], hidden),
                     top(importance["heads"], heads) if len(importance["heads"]) else [], keep_bigrams)


def _lstm_rows(keep: list[int], hidden: int) -> list[int]:
    return [g * hidden + k for g in range(4) for k in keep]


def apply_plan(model: Tagger, plan: PrunePlan) -> Tagger:
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
        if old.attn is not None:
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


def silence(model: Tagger, plan: PrunePlan) -> Tagger:
    """A same-size copy of ``model`` with the units and heads the plan drops switched off (for tests)."""
    import copy

    m = copy.deepcopy(model)
    net, cfg = m.net, m.net.cfg
    with torch.no_grad():
        for name, keep in (("fwd", plan.keep_fwd), ("bwd", plan.keep_bwd)):
            lstm = getattr(net, name)
            drop = [k for k in range(cfg.hidden) if k not in keep]
            out_gate = [3 * cfg.hidden + k for k in drop]
            lstm.weight_ih_l0[out_gate] = 0
            lstm.weight_hh_l0[out_gate] = 0
            lstm.bias_ih_l0[out_gate] = -1e4  # output gate shut: h_k = 0
            lstm.bias_hh_l0[out_gate] = 0
        dims = plan.keep_fwd + [cfg.hidden + k for k in plan.keep_bwd]
        net.emit.weight[:, [d for d in range(2 * cfg.hidden) if d not in dims]] = 0
        if net.attn is not None:
            hd = cfg.head_dim
            for h in range(cfg.heads):
                if h not in plan.keep_heads:
                    net.attn.out.weight[:, h * hd : (h + 1) * hd] = 0
    return m


def distill_loss(teacher: Tagger, teacher_feat, weight: float):
    """MSE between student and teacher emissions on the same texts (teacher uses its own vocabulary)."""
    def loss(texts: list[str], batch: dict, emissions: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            tb = to_tensors(teacher_feat, texts)
            target = teacher.net.run(tb)
        mask = (torch.arange(emissions.shape[1]).unsqueeze(0) < batch["lengths"].unsqueeze(1)).unsqueeze(2)
        return weight * (((emissions - target) ** 2) * mask).sum() / mask.sum().clamp(min=1) 
    return loss


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="model directory with checkpoint.pt and the fp32 variant")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--hidden", type=int, default=96, help="BiLSTM units kept per direction")
    ap.add_argument("--heads", type=int, default=2, help="attention heads kept")
    ap.add_argument("--bigram-min-count", type=int, default=5, help="bigram rows kept: seen at least this often in train")
    ap.add_argument("--bigram-rank", type=int, default=0, help="factorize the bigram table to this rank (0: keep it whole)")
    ap.add_argument("--epochs", type=int, default=1, help="fine-tuning epochs after pruning (0: none)")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--distill", type=float, default=0.0, help="weight of an emission-distillation (MSE to fp32) loss added to the gold CRF loss; 0: gold only (measured better here)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args(argv)
    started = time.time()
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    out = args.model
    teacher, labels = load_checkpoint(out / CHECKPOINT)
    cfg = teacher.net.cfg
    train = read_conll(args.data / "train.txt")
    dev = read_conll(args.data / "dev.txt")
    if args.limit:
        train, dev = train[: args.limit], dev[: args.limit]
    feat = featurizer_for(out, cfg.n_bigrams > 0, cfg.lexicon_width)
    importance = measure_importance(teacher, feat, train, labels)
    bigram_vocab = read_table(out / "bigrams.txt") if cfg.n_bigrams else None
    plan = make_plan(importance, args.hidden, args.heads, bigram_vocab, bigram_counts([s.text for s in train]),
                     args.bigram_min_count if cfg.n_bigrams else 0)
    plan.bigram_rank = args.bigram_rank
    student = apply_plan(teacher, plan)
    inputs = {}
    if plan.keep_bigrams is not None:
        names = {i: k for k, i in bigram_vocab.items()}
        write_table(out / "bigrams.pruned.txt", [names[i] for i in plan.keep_bigrams])
        inputs["bigrams"] = "bigrams.pruned.txt"
    student_feat = featurizer_for(out, cfg.n_bigrams > 0, cfg.lexicon_width,
                                  bigrams_file=inputs.get("bigrams", "bigrams.txt"))
    dev_texts = [normalize(s.text) for s in dev]
    print(f"pruned: hidden {cfg.hidden}->{student.net.cfg.hidden}, heads {cfg.heads}->{student.net.cfg.heads}, "
          f"bigrams {cfg.n_bigrams}->{student.net.cfg.n_bigrams}; dev F1 before fine-tune {dev_f1(student, student_feat, dev_texts, dev, labels):.4f}", flush=True)
    opts = Optimizers(student, args.lr, args.lr)
    tag_id = {t: i for i, t in enumerate(labels)}
    rng = random.Random(args.seed)
    extra = distill_loss(teacher, feat, args.distill) if args.distill else None
    teacher.eval()
    best = -1.0
    if args.epochs == 0:  # pruning alone: no fine-tune, so the variant stays as close to fp32 as the plan allows
        save_checkpoint(student, labels, out / "checkpoint.pruned.pt")
    for epoch in range(1, args.epochs + 1):
        train_epoch(student, student_feat, train, tag_id, opts, 32, rng, 0.0, f"fine-tune {epoch}/{args.epochs}", extra)
        f1 = dev_f1(student, student_feat, dev_texts, dev, labels)
        print(f"fine-tune epoch {epoch}: dev F1 {f1:.4f}", flush=True)
        if f1 > best:
            best = f1
            save_checkpoint(student, labels, out / "checkpoint.pruned.pt", dev_f1=f1)
    student, _ = load_checkpoint(out / "checkpoint.pruned.pt")
    export_onnx(student.net, out / "model.pruned.onnx")
    quantize(out / "model.pruned.onnx", out / "model.pruned-int8.onnx")
    desc = (f"structured pruning: BiLSTM {cfg.hidden}->{student.net.cfg.hidden} units/direction, heads {cfg.heads}->"
            f"{student.net.cfg.heads}, bigram rows {cfg.n_bigrams}->{student.net.cfg.n_bigrams} (count>={args.bigram_min_count})"
            + (f", bigram table factorized to rank {args.bigram_rank}" if args.bigram_rank else "") + "; "
            + (f"{args.epochs} epoch fine-tune" + (f" distilled from fp32 (weight {args.distill})" if args.distill else " on gold labels")
               if args.epochs else "no fine-tune"))
    for name, file, extra_desc in (("pruned", "model.pruned.onnx", ""), ("pruned-int8", "model.pruned-int8.onnx", "; then dynamic INT8")):
        register_variant(out, measured_variant(out, name, file, desc + extra_desc, inputs=inputs,
                                               batch_invariant=name == "pruned"))
    score_variants(out, args.data, ["pruned", "pruned-int8"])
    add_emb4_variant(out, "pruned", args.data)
    pruning = {"command": "python -m compression.prune " + " ".join(argv or __import__("sys").argv[1:]),
               "seconds": round(time.time() - started, 1), "kept": {"hidden": student.net.cfg.hidden,
               "heads": plan.keep_heads, "bigram_rows": student.net.cfg.n_bigrams}}
    write_manifest(out, replace(read_manifest(out), pruning=pruning))
    print("default variant:", choose_default(out))


if __name__ == "__main__":
    main()
