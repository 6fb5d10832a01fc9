"""Train the char + bigram + lexicon BiLSTM-attention-CRF tagger on a CoNLL corpus.

python -m compression.train --data ../shared/data/msra --out models/msra-base
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from raner.crf import CRF as NumpyCRF
from raner.features import SPACE, Featurizer, read_table, write_table
from raner.lac_tokens import LacTokenizer
from raner.lexicon import Lexicon
from raner.normalize import normalize

from .augment import add_lexicon_entities, entity_pool, lexicon_brands, name_list, place_org_facility, split_facilities, substitute
from .data import DEFAULT_DATA, Sentence, labels_of, read_conll
from .distill import EnsembleTeacher, posterior_loss
from .gazetteer import CATEGORIES, JIEBA_CATEGORIES, build_lexicon, categories_for
from .lac import load_word_embeddings
from .lac_encoder import lac_tokenizer, lac_word_types, load_lac_encoder
from .metrics import score_tags
from .model import NetConfig, Tagger
from .vocab import build_bigram_vocab, build_char_vocab

CHECKPOINT = "checkpoint.pt"
WORD_SET_SIZE = 4


def pca_rows(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Project embeddings onto their top ``dim`` principal components; prepend a zero padding row (id 0)."""
    centered = vectors - vectors.mean(0, keepdims=True)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    reduced = (centered @ vt[:dim].T).astype(np.float32)
    return np.vstack([np.zeros((1, reduced.shape[1]), np.float32), reduced])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def featurizer_for(out: Path, use_bigrams: bool, lexicon_width: int, set_size: int = WORD_SET_SIZE,
                   bigrams_file: str = "bigrams.txt") -> Featurizer:
    """The runtime's own featurizer over the files written to ``out`` (``lexicon_width`` 0: no lexicon)."""
    bigrams = read_table(out / bigrams_file) if use_bigrams else None
    lac = LacTokenizer.read(out / "lac_tokens.npz") if (out / "lac_tokens.npz").is_file() else None
    lexicon = Lexicon.read(out / "lexicon.tsv", categories_for(lexicon_width), set_size) if lexicon_width else None
    return Featurizer(read_table(out / "vocab.txt"), bigrams, lexicon, lac)


def to_tensors(feat: Featurizer, texts: list[str], tags: list[list[int]] | None = None):
    """Pad a batch of normalized texts into torch inputs (and gold tags)."""
    arrays = feat.batch([feat.encode(t) for t in texts])
    batch = {k: torch.from_numpy(v) for k, v in arrays.items()}
    if tags is None:
        return batch
    gold = torch.zeros(batch["chars"].shape, dtype=torch.long)
    for i, t in enumerate(tags):
        gold[i, : len(t)] = torch.tensor(t)
    return batch, gold


def batches_by_length(n_items: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Group indices of similar length together, then shuffle the groups."""
    order = sorted(range(len(n_items)), key=lambda i: (n_items[i], rng.random()))
    groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(groups)
    return groups


@torch.no_grad()
def predict_tags(model: Tagger, feat: Featurizer, crf: NumpyCRF, texts: list[str], labels: list[str], batch_size: int = 128) -> list[list[str]]:
    """Decode texts with the torch emissions and the runtime's numpy Viterbi."""
    model.eval()
    out: list[list[str] | None] = [None] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        batch = to_tensors(feat, [texts[i] for i in idx])
        em = model.net.run(batch).numpy()
        for i, path in zip(idx, crf.viterbi(em, batch["lengths"].numpy())):
            out[i] = [labels[j] for j in path]
    return out  # type: ignore[return-value]


def numpy_crf(model: Tagger, labels: list[str]) -> NumpyCRF:
    c = model.crf
    return NumpyCRF.constrained(c.start.detach().numpy(), c.end.detach().numpy(), c.transitions.detach().numpy(), labels)


def split_long(sentences: list[Sentence], max_len: int) -> list[Sentence]:
    """Cut training sentences longer than ``max_len`` into pieces (at entity-free points)."""
    out = []
    for s in sentences:
        start = 0
        while len(s.text) - start > max_len:
            cut = start + max_len
            while cut > start + 1 and s.tags[cut].startswith("I-"):
                cut -= 1
            out.append(Sentence(s.text[start:cut], s.tags[start:cut]))
            start = cut
        out.append(Sentence(s.text[start:], s.tags[start:]))
    return out



class Optimizers:
    """SparseAdam for the embedding tables (4x faster than dense Adam on big tables), Adam for the rest."""

    def __init__(self, model: Tagger, lr: float, emb_lr: float, lac_lr: float = 0.0):
        params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        sparse = [p for n, p in params if n.endswith("_emb.weight")]
        lac = [p for n, p in params if n.startswith("net.lac.")]  # only there when fine-tuning LAC's GRUs
        self.dense_params = [p for n, p in params if not n.endswith("_emb.weight")]
        head = [p for n, p in params if not n.endswith("_emb.weight") and not n.startswith("net.lac.")]
        self.pairs = [(torch.optim.SparseAdam(sparse, lr=emb_lr), emb_lr), (torch.optim.Adam(head, lr=lr), lr)]
        if lac:
            self.pairs.append((torch.optim.Adam(lac, lr=lac_lr or lr), lac_lr or lr))

    def set_decay(self, factor: float) -> None:
        for opt, base in self.pairs:
            for g in opt.param_groups:
                g["lr"] = base * factor

    def step(self, loss: torch.Tensor) -> None:
        for opt, _ in self.pairs:
            opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.dense_params, 5.0)
        for opt, _ in self.pairs:
            opt.step()


def train_epoch(model: Tagger, feat: Featurizer, sentences: list[Sentence], tag_id: dict[str, int], opts: Optimizers,
                batch_size: int, rng: random.Random, char_dropout: float, desc: str,
                extra_loss: Callable[[list[str], dict, torch.Tensor], torch.Tensor] | None = None,
                entity_dropout: tuple[float, float] = (0.0, 0.0)) -> float:
    """One pass over ``sentences``; ``extra_loss(texts, batch, emissions)`` is added (e.g. distillation).

    ``entity_dropout`` = (bigram rate, character rate) inside gold entities: their ids become [UNK] at that rate,
    so the model learns to find names whose characters and bigrams it has not seen (unseen-entity recall).
    """
    model.train()
    texts = [normalize(s.text) for s in sentences]
    groups = batches_by_length([len(t) for t in texts], batch_size, rng)
    total = 0.0
    bar = tqdm(groups, desc=desc, mininterval=10, leave=False)
    for step, idx in enumerate(bar, 1):
        batch_texts = [texts[i] for i in idx]
        batch, gold = to_tensors(feat, batch_texts, [[tag_id[t] for t in sentences[i].tags] for i in idx])
        if char_dropout:
            drop = (torch.rand(batch["chars"].shape) < char_dropout) & (batch["chars"] > 0)
            batch["chars"] = batch["chars"].masked_fill(drop, feat.unk)
        mask = torch.arange(gold.shape[1]).unsqueeze(0) < batch["lengths"].unsqueeze(1)
        if any(entity_dropout):
            inside = (gold != tag_id["O"]) & mask
            bigram_rate, char_rate = entity_dropout
            if bigram_rate and "bigrams" in batch:
                batch["bigrams"] = batch["bigrams"].masked_fill(inside & (torch.rand(gold.shape) < bigram_rate), feat.bigram_unk)
            if char_rate:
                batch["chars"] = batch["chars"].masked_fill(inside & (torch.rand(gold.shape) < char_rate), feat.unk)
        emissions = model.net.run(batch)
        loss = model.crf.nll(emissions, gold, mask)
        if extra_loss is not None:
            loss = loss + extra_loss(batch_texts, batch, emissions)
        opts.step(loss)
        total += loss.item()
        if step % 200 == 0:
            bar.set_postfix(loss=f"{total / step:.3f}")
    return total / max(len(groups), 1)


def dev_f1(model: Tagger, feat: Featurizer, texts: list[str], sentences: list[Sentence], labels: list[str]) -> float:
    pred = predict_tags(model, feat, numpy_crf(model, labels), texts, labels)
    return score_tags([s.tags for s in sentences], pred)["overall"]["f1"]


def save_checkpoint(model: Tagger, labels: list[str], path: Path, **extra) -> None:
    torch.save({"config": model.net.cfg.to_dict(), "labels": labels, "state_dict": model.state_dict(), **extra}, path)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with train.txt and dev.txt")
    ap.add_argument("--out", type=Path, required=True, help="model directory to write")
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--emb-lr", type=float, default=0.01, help="learning rate of the (sparse) embeddings (0: same as --lr)")
    ap.add_argument("--lr-decay", type=float, default=0.88, help="learning rate factor per epoch")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--char-dim", type=int, default=128)
    ap.add_argument("--bigram-dim", type=int, default=64)
    ap.add_argument("--heads", type=int, default=4, help="self-attention heads (0: none)")
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--bigram-min-count", type=int, default=2, help="0 disables bigrams")
    ap.add_argument("--no-lexicon", action="store_true", help="train without jieba gazetteer features")
    ap.add_argument("--lac", type=Path, default=None, help="LAC folder (python -m compression.lac --download build/lac): "
                    "adds SoftLexicon word sets with LAC's pretrained word embeddings")
    ap.add_argument("--lac-encoder", action="store_true", help="feed LAC's frozen BiGRU states (needs --lac) to the BiLSTM")
    ap.add_argument("--lac-words", action="store_true",
                    help="the LAC encoder reads LAC's own word segmentation (its 58k-row table) instead of our characters")
    ap.add_argument("--lac-both", action="store_true",
                    help="with --lac-words: a second LAC encoder also reads our characters, and both views join the BiLSTM input")
    ap.add_argument("--lac-types", action="store_true",
                    help="add LAC_PER/LAC_LOC/LAC_ORG gazetteer entries: LAC's words as its own tagger types them (needs --lac)")
    ap.add_argument("--lac-tune", type=int, default=0, choices=(0, 1, 2),
                    help="fine-tune the top N of LAC's 2 GRU layers (needs --lac-encoder; 0: LAC stays frozen)")
    ap.add_argument("--lac-lr", type=float, default=1e-3, help="learning rate of the fine-tuned LAC layers")
    ap.add_argument("--word-dim", type=int, default=64, help="PCA size of LAC's 128-d word embeddings")
    ap.add_argument("--augment", type=float, default=0.0, help="share of training sentences given substituted entities each epoch")
    ap.add_argument("--augment-places", type=float, default=0.0,
                    help="share of sentences with an organisation rewritten as place + organisation + facility noun")
    ap.add_argument("--augment-brands", type=float, default=0.0,
                    help="share of sentences with an organisation replaced by one of LAC's organisation names, with a "
                         "place before it and a facility noun after it half of the time each, tagged apart (needs --lac-types)")
    ap.add_argument("--headquarters", type=float, default=0.0,
                    help="with --augment-brands: share of the facility nouns that are 总部 (the rest drawn evenly)")
    ap.add_argument("--augment-name-lists", type=float, default=0.0,
                    help="share of sentences with a person rewritten as a roster of 2-4 persons joined by nothing or 、")
    ap.add_argument("--split-facilities", action="store_true",
                    help="relabel training organisations ending in 总部: the noun is not part of the name, and a known "
                         "place before a known organisation is tagged as a place (纽约联合国总部 → 纽约/LOC 联合国/ORG 总部)")
    ap.add_argument("--augment-lexicon", action="store_true",
                    help="substitute entities with jieba's typed words too, not only training-set entities")
    ap.add_argument("--char-dropout", type=float, default=0.01, help="rate of replacing input characters by [UNK]")
    ap.add_argument("--entity-bigram-dropout", type=float, default=0.0,
                    help="rate of replacing bigrams inside gold entities by [UNK] (teaches unseen names)")
    ap.add_argument("--entity-char-dropout", type=float, default=0.0,
                    help="rate of replacing characters inside gold entities by [UNK]")
    ap.add_argument("--teachers", type=Path, nargs="+", default=None,
                    help="exported model directories whose averaged posteriors the model also learns (distillation)")
    ap.add_argument("--distill-weight", type=float, default=1.0, help="weight of the distillation loss beside the gold CRF loss")
    ap.add_argument("--max-len", type=int, default=200)
    ap.add_argument("--init-from", type=Path, default=None,
                    help="start from this checkpoint's weights (same data, vocabularies and options): a fine-tune")
    ap.add_argument("--keep-epochs", action="store_true", help="also keep each epoch's weights (checkpoint.epochN.pt)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N train/dev sentences (smoke tests)")
    args = ap.parse_args(argv)
    if args.lac_encoder and not args.lac:  # checked before minutes of data and lexicon work
        raise SystemExit("--lac-encoder needs --lac <LAC folder>")
    if args.lac_words and not (args.lac and args.lac_encoder):
        raise SystemExit("--lac-words needs --lac <LAC folder> and --lac-encoder")
    if args.lac_both and not args.lac_words:
        raise SystemExit("--lac-both needs --lac-words (the word view; the character view is added to it)")
    if args.lac_tune and not args.lac_encoder:
        raise SystemExit("--lac-tune needs --lac-encoder")

    started = time.time()
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    train = split_long(read_conll(args.data / "train.txt"), args.max_len)
    dev = read_conll(args.data / "dev.txt")
    if args.limit:
        train, dev = train[: args.limit], dev[: args.limit]
    if args.split_facilities:
        known = entity_pool(train)
        train = [split_facilities(s, set(known.get("LOC", [])), set(known.get("ORG", []))) for s in train]
    labels = labels_of(train)
    tag_id = {t: i for i, t in enumerate(labels)}
    args.out.mkdir(parents=True, exist_ok=True)

    train_norm = [normalize(s.text) for s in train]
    write_table(args.out / "vocab.txt", build_char_vocab(train_norm))
    use_bigrams = args.bigram_min_count > 0
    if use_bigrams:
        write_table(args.out / "bigrams.txt", build_bigram_vocab(train_norm, args.bigram_min_count))
    word_table = None
    if not args.no_lexicon:
        lac_words = None
        if args.lac:
            lac_words, lac_vectors = load_word_embeddings(args.lac)
            word_table = pca_rows(lac_vectors, args.word_dim)
        lac_types = lac_word_types(args.lac) if args.lac and args.lac_types else None
        n_words = build_lexicon(args.out / "lexicon.tsv", lac_words=lac_words, lac_types=lac_types)
        print(f"lexicon: {n_words} words from jieba's dictionary" + (f" and LAC ({len(lac_words)} with embeddings)" if lac_words else ""))
    (args.out / "lac_tokens.npz").unlink(missing_ok=True)
    if args.lac_words:
        lac_tokenizer(args.lac).write(args.out / "lac_tokens.npz")
    categories = CATEGORIES if args.lac_types else JIEBA_CATEGORIES
    feat = featurizer_for(args.out, use_bigrams, 0 if args.no_lexicon else 4 * len(categories))
    cfg = NetConfig(
        n_chars=len(feat.chars), n_bigrams=len(feat.bigrams) if feat.bigrams else 0, lexicon_width=feat.lexicon_width,
        n_tags=len(labels), char_dim=args.char_dim, bigram_dim=args.bigram_dim, hidden=args.hidden,
        heads=args.heads, head_dim=32, dropout=args.dropout,
        n_words=len(word_table) if word_table is not None else 0, word_dim=word_table.shape[1] if word_table is not None else 0,
        lac_dim=256 if args.lac_encoder else 0, lac_rows=len(feat.lac.vocab) if feat.lac else 0, lac_char_view=args.lac_both,
    )
    print(f"config: {cfg.to_dict()}; train {len(train)} sentences, dev {len(dev)}")
    model = Tagger(cfg)
    if word_table is not None:
        with torch.no_grad():
            model.net.word_emb.weight.copy_(torch.from_numpy(word_table))
    if args.lac_encoder:
        tokens = sorted(feat.lac.vocab, key=feat.lac.vocab.get) if feat.lac else sorted(feat.chars, key=feat.chars.get)
        model.net.lac.load_state_dict(load_lac_encoder(args.lac, tokens, {SPACE: " "}).state_dict())
        if model.net.lac_chars is not None:
            chars = sorted(feat.chars, key=feat.chars.get)
            model.net.lac_chars.load_state_dict(load_lac_encoder(args.lac, chars, {SPACE: " "}).state_dict())
    if args.init_from:
        start = torch.load(args.init_from, map_location="cpu", weights_only=False)
        if NetConfig(**start["config"]) != cfg:  # compared as configs: fields added later take their defaults
            raise SystemExit(f"{args.init_from} was trained with another configuration: {start['config']}")
        model.load_state_dict(start["state_dict"])
    if args.lac_tune:
        model.net.lac.tune(args.lac_tune)
    frozen = [model.net.lac_chars] + ([] if args.lac_tune else [model.net.lac])
    for encoder in frozen:  # frozen LAC encoders run in ONNX Runtime while training: the same function, faster
        if encoder is not None:
            encoder.accelerate()
    opts = Optimizers(model, args.lr, args.emb_lr or args.lr, args.lac_lr)
    pool = entity_pool(train)
    if args.augment_lexicon and not args.no_lexicon:
        pool = add_lexicon_entities(pool, args.out / "lexicon.tsv")
    brands = lexicon_brands(args.out / "lexicon.tsv") if args.augment_brands else []
    if args.augment_brands and not brands:
        raise SystemExit("--augment-brands needs LAC's organisation names: add --lac-types")
    distill = posterior_loss(EnsembleTeacher(args.teachers, labels), model.crf, args.distill_weight) if args.teachers else None
    dev_texts = [normalize(s.text) for s in dev]
    best, history = -1.0, []
    for epoch in range(1, args.epochs + 1):
        opts.set_decay(args.lr_decay ** (epoch - 1))
        epoch_sents = [substitute(s, pool, rng) if args.augment and rng.random() < args.augment else s for s in train]
        if args.augment_places:
            epoch_sents = [place_org_facility(s, pool, rng) if rng.random() < args.augment_places else s for s in epoch_sents]
        if args.augment_brands:
            epoch_sents = [place_org_facility(s, pool, rng, brands, optional_parts=True, headquarters=args.headquarters) if rng.random() < args.augment_brands else s
                           for s in epoch_sents]
        if args.augment_name_lists:
            epoch_sents = [name_list(s, pool, rng) if rng.random() < args.augment_name_lists else s for s in epoch_sents]
        t0 = time.time()
        loss = train_epoch(model, feat, epoch_sents, tag_id, opts, args.batch_size, rng, args.char_dropout, f"epoch {epoch}/{args.epochs}",
                           extra_loss=distill, entity_dropout=(args.entity_bigram_dropout, args.entity_char_dropout))
        f1 = dev_f1(model, feat, dev_texts, dev, labels)
        history.append({"epoch": epoch, "loss": round(loss, 4), "dev_f1": f1, "seconds": round(time.time() - t0, 1)})
        print(f"epoch {epoch}: loss {loss:.4f}  dev F1 {f1:.4f}  ({time.time() - t0:.0f}s)", flush=True)
        if args.keep_epochs:
            save_checkpoint(model, labels, args.out / f"checkpoint.epoch{epoch}.pt", epoch=epoch, dev_f1=f1)
        if f1 > best:
            best = f1
            save_checkpoint(model, labels, args.out / CHECKPOINT, epoch=epoch, dev_f1=f1)

    info = {
        "data": os.path.relpath(args.data, Path(__file__).resolve().parent.parent), "command": "python -m compression.train " + " ".join(argv or __import__("sys").argv[1:]),
        "args": {k: [str(x) for x in v] if isinstance(v, list) else str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "best_dev_f1": best, "history": history, "train_seconds": round(time.time() - started, 1),
        "threads": args.threads, "train_sentences": len(train),
    }
    base_info = args.init_from.parent / "training.json" if args.init_from else None
    if base_info is not None and base_info.is_file():  # a fine-tune: keep the run it started from
        info["base"] = json.loads(base_info.read_text(encoding="utf-8"))
        info["total_train_seconds"] = round(info["train_seconds"] + info["base"].get("total_train_seconds", info["base"]["train_seconds"]), 1)
    if args.teachers:  # distilled: the teachers' training is part of what it took
        info["teachers"] = [json.loads((t / "training.json").read_text(encoding="utf-8")) for t in args.teachers
                            if (t / "training.json").is_file() and not (args.init_from and t.resolve() == args.init_from.parent.resolve())]
        info["total_train_seconds"] = round(info.get("total_train_seconds", info["train_seconds"])
                                            + sum(t.get("total_train_seconds", t["train_seconds"]) for t in info["teachers"]), 1)
    (args.out / "training.json").write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"best dev F1 {best:.4f}; checkpoint {args.out / CHECKPOINT}; {info['train_seconds']:.0f}s")


if __name__ == "__main__":
    main()
