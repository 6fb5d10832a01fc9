"""Structured pruning that physically shrinks a model directory's network, then a short (distilled) fine-tune; adds
the pruned, pruned-int8 and pruned-int8-emb4 variants.

python -m compression.prune models/msra-base --hidden 96 --heads 2 --bigram-min-count 5
python -m compression.prune runs/student-r --hidden 80 --heads 0 --bigram-min-count 0 --epochs 5 --distill 1 \
    --recipe configs/student.json

``--recipe`` makes the fine-tune see the data the network was trained on: the recipe's facility convention on the
gold and its augmentations drawn afresh each epoch (a student taught name lists and brands forgets them on plain
gold).
"""
from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import replace
from pathlib import Path

import torch

from raner.features import read_table, write_table
from raner.manifest import read_manifest, register_variant, write_manifest
from raner.normalize import normalize

from .augment import entity_pool, lexicon_brands
from .data import DEFAULT_DATA, read_conll, read_unlabelled
from .distill import EnsembleTeacher, posterior_loss
from .inputs import featurizer_for
from .invocation import invocation
from .model import CHECKPOINT, load_tagger
from .model_dir import choose_default, measured_variant, score_variants
from .pruning import apply_unit_plan, bigram_counts, emission_distill_loss, make_unit_plan, measure_unit_importance
from .quantization import add_emb4_variant, quantize
from .train_config import AUGMENTATIONS, TrainConfig
from .training import Optimizers, augmented, dev_f1, facilities_split, seed_everything, split_long, train_epoch

# what a --recipe brings to the fine-tune: the data's conventions and augmentations, not the network or schedule
RECIPE_DATA = ("split_facilities", "split_branches", *AUGMENTATIONS, "headquarters", "char_dropout")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="model directory with checkpoint.pt and the fp32 variant")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--hidden", type=int, default=96, help="BiLSTM units kept per direction")
    ap.add_argument("--heads", type=int, default=2, help="attention heads kept")
    ap.add_argument("--bigram-min-count", type=int, default=5,
                    help="bigram rows kept: seen at least this often in train")
    ap.add_argument("--bigram-rank", type=int, default=0,
                    help="factorize the bigram table to this rank (0: keep it whole)")
    ap.add_argument("--epochs", type=int, default=1, help="fine-tuning epochs after pruning (0: none)")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--distill", type=float, default=0.0,
                    help="weight of an emission-distillation (MSE to fp32) loss added to the gold CRF loss; "
                         "0: gold only (measured better here)")
    ap.add_argument("--recipe", type=Path, help="a training recipe (configs/*.json) whose facility convention, "
                    "augmentations and character dropout the fine-tune repeats")
    ap.add_argument("--teachers", type=Path, nargs="+", default=[],
                    help="exported model directories (DIR: its fp32 variant; DIR:VARIANT) whose averaged tag "
                         "posteriors the fine-tune also learns")
    ap.add_argument("--unlabelled", type=Path,
                    help="text, one sentence a line, also fine-tuned on through --teachers' posteriors only")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args(argv)
    if args.unlabelled and not args.teachers:
        ap.error("--unlabelled text has no gold tags: it teaches only through --teachers' posteriors; add --teachers")
    started = time.time()
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    out = args.model
    teacher, labels = load_tagger(out / CHECKPOINT)
    cfg = teacher.net.cfg
    train = read_conll(args.data / "train.txt")
    dev = read_conll(args.data / "dev.txt")
    if args.limit:
        train, dev = train[: args.limit], dev[: args.limit]
    # without a recipe the fine-tune sees the plain gold: no relabelling, no augmentation, no character dropout
    values = json.loads(args.recipe.read_text(encoding="utf-8")) if args.recipe else {"char_dropout": 0.0}
    recipe = TrainConfig(**{k: v for k, v in values.items() if k in RECIPE_DATA})
    if recipe.split_facilities:
        train = facilities_split(train, recipe.split_branches)
    pool = entity_pool(train)
    brands = lexicon_brands(out / "lexicon.tsv") if recipe.augment_brands else []
    feat = featurizer_for(out, cfg.n_bigrams > 0, cfg.lexicon_width)
    importance = measure_unit_importance(teacher, feat, train, labels)
    bigram_vocab = read_table(out / "bigrams.txt") if cfg.n_bigrams else None
    plan = make_unit_plan(importance, args.hidden, args.heads, bigram_vocab, bigram_counts([s.text for s in train]),
                          args.bigram_min_count if cfg.n_bigrams else 0)
    plan.bigram_rank = args.bigram_rank
    student = apply_unit_plan(teacher, plan)
    inputs = {}
    if plan.keep_bigrams is not None:
        names = {i: k for k, i in bigram_vocab.items()}
        write_table(out / "bigrams.pruned.txt", [names[i] for i in plan.keep_bigrams])
        inputs["bigrams"] = "bigrams.pruned.txt"
    student_feat = featurizer_for(out, cfg.n_bigrams > 0, cfg.lexicon_width,
                                  bigrams_file=inputs.get("bigrams", "bigrams.txt"))
    dev_texts = [normalize(s.text) for s in dev]
    print(f"pruned: hidden {cfg.hidden}->{student.net.cfg.hidden}, heads {cfg.heads}->{student.net.cfg.heads}, "
          f"bigrams {cfg.n_bigrams}->{student.net.cfg.n_bigrams}; "
          f"dev F1 before fine-tune {dev_f1(student, student_feat, dev_texts, dev, labels):.4f}", flush=True)
    opts = Optimizers(student, args.lr, args.lr)
    tag_id = {t: i for i, t in enumerate(labels)}
    rng = random.Random(args.seed)
    losses = [loss for loss in (emission_distill_loss(teacher, feat, args.distill) if args.distill else None,
                                posterior_loss(EnsembleTeacher(args.teachers, labels), student.crf, 1.0)
                                if args.teachers else None) if loss is not None]
    extra = (lambda texts, batch, emissions: sum(loss(texts, batch, emissions) for loss in losses)) if losses else None
    unlabelled = split_long(read_unlabelled(args.unlabelled), TrainConfig().max_len) if args.unlabelled else []
    teacher.eval()
    best = -1.0
    if args.epochs == 0:  # pruning alone: no fine-tune, so the variant stays as close to fp32 as the plan allows
        student.save(out / "checkpoint.pruned.pt", labels)
    for epoch in range(1, args.epochs + 1):
        sents = augmented(train, pool, brands, rng, recipe) + unlabelled
        train_epoch(student, student_feat, sents, tag_id, opts, 32, rng, recipe.char_dropout,
                    f"fine-tune {epoch}/{args.epochs}", extra)
        f1 = dev_f1(student, student_feat, dev_texts, dev, labels)
        print(f"fine-tune epoch {epoch}: dev F1 {f1:.4f}", flush=True)
        if f1 > best:
            best = f1
            student.save(out / "checkpoint.pruned.pt", labels, dev_f1=f1)
    student, _ = load_tagger(out / "checkpoint.pruned.pt")
    student.net.export_onnx(out / "model.pruned.onnx")
    quantize(out / "model.pruned.onnx", out / "model.pruned-int8.onnx")
    desc = (f"structured pruning: BiLSTM {cfg.hidden}->{student.net.cfg.hidden} units/direction, heads {cfg.heads}->"
            f"{student.net.cfg.heads}, bigram rows {cfg.n_bigrams}->{student.net.cfg.n_bigrams} "
            f"(count>={args.bigram_min_count})"
            + (f", bigram table factorized to rank {args.bigram_rank}" if args.bigram_rank else "") + "; "
            + (f"{args.epochs} epoch fine-tune"
               + (f" distilled from fp32 (weight {args.distill})" if args.distill else " on gold labels")
               if args.epochs else "no fine-tune"))
    for name, file, extra_desc in (("pruned", "model.pruned.onnx", ""),
                                   ("pruned-int8", "model.pruned-int8.onnx", "; then dynamic INT8")):
        register_variant(out, measured_variant(out, name, file, desc + extra_desc, inputs=inputs,
                                               network=student.net.cfg.to_dict(), batch_invariant=name == "pruned"))
    score_variants(out, args.data, ["pruned", "pruned-int8"])
    add_emb4_variant(out, "pruned", args.data)
    pruning = {"command": invocation("compression.prune", argv),
               "seconds": round(time.time() - started, 1), "kept": {"hidden": student.net.cfg.hidden,
               "heads": plan.keep_heads, "bigram_rows": student.net.cfg.n_bigrams}}
    write_manifest(out, replace(read_manifest(out), pruning=pruning))
    print("default variant:", choose_default(out))


if __name__ == "__main__":
    main()
