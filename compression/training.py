"""Training the char + bigram + lexicon BiLSTM-attention-CRF tagger on a CoNLL corpus: the epoch loop, its
optimizers and dev scoring, and a whole run as a TrainConfig describes it."""
from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from raner.crf import CRF
from raner.features import SPACE, Featurizer, write_table
from raner.normalize import normalize

from .augment import (
    BRANCH_NOUNS,
    add_lexicon_entities,
    entity_pool,
    latin_entity,
    lexicon_brands,
    name_list,
    place_org_facility,
    split_facilities,
    substitute,
)
from .data import Sentence, labels_of, read_conll, read_unlabelled
from .distill import EnsembleTeacher, posterior_loss
from .gazetteer import CATEGORIES, JIEBA_CATEGORIES, build_lexicon, company_names
from .inputs import batches_by_length, featurizer_for, to_tensors
from .lac_encoder import lac_tokenizer, lac_word_types, load_lac_encoder
from .lac_files import load_word_embeddings
from .metrics import score_tags
from .model import CHECKPOINT, NetConfig, Tagger
from .train_config import ConfigError, TrainConfig
from .vocab import build_bigram_vocab, build_char_vocab

ROOT = Path(__file__).resolve().parent.parent


def pca_rows(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Project embeddings onto their top ``dim`` principal components; prepend a zero padding row (id 0)."""
    centered = vectors - vectors.mean(0, keepdims=True)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    reduced = (centered @ vt[:dim].T).astype(np.float32)
    return np.vstack([np.zeros((1, reduced.shape[1]), np.float32), reduced])


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@torch.no_grad()
def predict_tags(model: Tagger, feat: Featurizer, crf: CRF, texts: list[str], labels: list[str],
                 batch_size: int = 128) -> list[list[str]]:
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


def split_long(sentences: list[Sentence], max_len: int) -> list[Sentence]:
    """Cut training sentences longer than ``max_len`` into pieces (at entity-free points)."""
    out = []
    for s in sentences:
        start = 0
        while len(s.text) - start > max_len:
            cut = start + max_len
            while cut > start + 1 and s.tags[cut].startswith("I-"):
                cut -= 1
            out.append(Sentence(s.text[start:cut], s.tags[start:cut], s.labelled))
            start = cut
        out.append(Sentence(s.text[start:], s.tags[start:], s.labelled))
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
                dropped = inside & (torch.rand(gold.shape) < bigram_rate)
                batch["bigrams"] = batch["bigrams"].masked_fill(dropped, feat.bigram_unk)
            if char_rate:
                batch["chars"] = batch["chars"].masked_fill(inside & (torch.rand(gold.shape) < char_rate), feat.unk)
        emissions = model.net.run(batch)
        labelled = torch.tensor([sentences[i].labelled for i in idx])
        loss = model.crf.nll(emissions, gold, mask, None if labelled.all() else labelled)
        if extra_loss is not None:
            loss = loss + extra_loss(batch_texts, batch, emissions)
        opts.step(loss)
        total += loss.item()
        if step % 200 == 0:
            bar.set_postfix(loss=f"{total / step:.3f}")
    return total / max(len(groups), 1)


def dev_f1(model: Tagger, feat: Featurizer, texts: list[str], sentences: list[Sentence], labels: list[str]) -> float:
    """Entity F1 of the model's Viterbi tags on normalized dev ``texts`` against their gold ``sentences``."""
    pred = predict_tags(model, feat, model.crf.to_runtime(labels), texts, labels)
    return score_tags([s.tags for s in sentences], pred)["overall"]["f1"]


def facilities_split(sentences: list[Sentence], branches: bool) -> list[Sentence]:
    """The guideline's facility convention on gold: a known place or organisation + 基地/总部 (+ a branch's 店 with
    ``branches``) split where the name ends (augment.split_facilities)."""
    known = entity_pool(sentences)
    nouns = BRANCH_NOUNS if branches else ("总部",)
    return [split_facilities(s, set(known.get("LOC", [])), set(known.get("ORG", [])), nouns, place_after=branches)
            for s in sentences]


def augmented(sentences: list[Sentence], pool: dict[str, list[str]], brands: list[str], rng: random.Random,
              cfg: TrainConfig) -> list[Sentence]:
    """One epoch's training sentences: each rewritten at the rates ``cfg`` sets (names swapped, places + orgs +
    facilities, brands, name lists, Latin-script names), drawn afresh every epoch."""
    sents = [substitute(s, pool, rng) if cfg.augment and rng.random() < cfg.augment else s for s in sentences]
    if cfg.augment_places:
        sents = [place_org_facility(s, pool, rng) if rng.random() < cfg.augment_places else s for s in sents]
    if cfg.augment_brands:
        sents = [place_org_facility(s, pool, rng, brands, optional_parts=True, headquarters=cfg.headquarters)
                 if rng.random() < cfg.augment_brands else s for s in sents]
    if cfg.augment_name_lists:
        sents = [name_list(s, pool, rng) if rng.random() < cfg.augment_name_lists else s for s in sents]
    if cfg.augment_latin:
        sents = [latin_entity(s, rng) if rng.random() < cfg.augment_latin else s for s in sents]
    return sents


def train(cfg: TrainConfig, command: str = "", recipe: dict | None = None) -> dict:
    """A whole run as ``cfg`` says: vocabularies, lexicon, checkpoint (the best dev epoch) and training.json in
    ``cfg.out``; returns that training record. ``recipe`` (the recipe file's name and values) and ``command`` are
    recorded with it. Options are checked before any data is read."""
    cfg.validate()
    cfg.check_files()
    out: Path = cfg.out  # type: ignore[assignment]  (validate: set)
    started = time.time()
    seed_everything(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = random.Random(cfg.seed)
    train_set = split_long(read_conll(cfg.data / "train.txt"), cfg.max_len)
    dev = read_conll(cfg.data / "dev.txt")
    if cfg.limit:
        train_set, dev = train_set[: cfg.limit], dev[: cfg.limit]
    if cfg.split_facilities:
        train_set = facilities_split(train_set, cfg.split_branches)
    labels = labels_of(train_set)
    tag_id = {t: i for i, t in enumerate(labels)}
    out.mkdir(parents=True, exist_ok=True)
    unlabelled = split_long(read_unlabelled(cfg.unlabelled), cfg.max_len)[: cfg.limit or None] if cfg.unlabelled else []

    train_norm = [normalize(s.text) for s in train_set + unlabelled]
    write_table(out / "vocab.txt", build_char_vocab(train_norm))
    use_bigrams = not cfg.no_bigrams
    if use_bigrams:
        write_table(out / "bigrams.txt", build_bigram_vocab(train_norm, cfg.bigram_min_count))
    word_table = None
    if not cfg.no_lexicon:
        lac_words = None
        if cfg.lac:
            lac_words, lac_vectors = load_word_embeddings(cfg.lac)
            word_table = pca_rows(lac_vectors, cfg.word_dim)
        lac_types = lac_word_types(cfg.lac) if cfg.lac and cfg.lac_types else None
        n_words = build_lexicon(out / "lexicon.tsv", lac_words=lac_words, lac_types=lac_types,
                                companies=company_names() if cfg.listed_companies else None)
        print(f"lexicon: {n_words} words from jieba's dictionary"
              + (f" and LAC ({len(lac_words)} with embeddings)" if lac_words else ""))
    (out / "lac_tokens.npz").unlink(missing_ok=True)
    if cfg.lac_words:
        lac_tokenizer(cfg.lac).write(out / "lac_tokens.npz")
    categories = CATEGORIES if cfg.lac_types else JIEBA_CATEGORIES
    feat = featurizer_for(out, use_bigrams, 0 if cfg.no_lexicon else 4 * len(categories))
    net = NetConfig(
        n_chars=len(feat.chars), n_bigrams=len(feat.bigrams) if feat.bigrams else 0, lexicon_width=feat.lexicon_width,
        n_tags=len(labels), char_dim=cfg.char_dim, bigram_dim=cfg.bigram_dim, hidden=cfg.hidden,
        heads=cfg.heads, head_dim=32, dropout=cfg.dropout,
        n_words=len(word_table) if word_table is not None else 0,
        word_dim=word_table.shape[1] if word_table is not None else 0,
        lac_dim=256 if cfg.lac_encoder else 0, lac_rows=len(feat.lac.vocab) if feat.lac else 0,
        lac_char_view=cfg.lac_both,
    )
    print(f"config: {net.to_dict()}; train {len(train_set)} sentences, dev {len(dev)}")
    model = Tagger(net)
    if word_table is not None:
        with torch.no_grad():
            model.net.word_emb.weight.copy_(torch.from_numpy(word_table))
    if cfg.lac_encoder:
        tokens = sorted(feat.lac.vocab, key=feat.lac.vocab.get) if feat.lac else sorted(feat.chars, key=feat.chars.get)
        model.net.lac.load_state_dict(load_lac_encoder(cfg.lac, tokens, {SPACE: " "}).state_dict())
        if model.net.lac_chars is not None:
            chars = sorted(feat.chars, key=feat.chars.get)
            model.net.lac_chars.load_state_dict(load_lac_encoder(cfg.lac, chars, {SPACE: " "}).state_dict())
    if cfg.init_from:
        start = torch.load(cfg.init_from, map_location="cpu", weights_only=False)
        if NetConfig(**start["config"]) != net:  # compared as configs: fields added later take their defaults
            raise ConfigError(f"{cfg.init_from} was trained with another network: {start['config']}; a fine-tune needs "
                             "the same data, vocabularies and network options")
        model.load_state_dict(start["state_dict"])
    if cfg.lac_tune:
        model.net.lac.tune(cfg.lac_tune)
    frozen = [model.net.lac_chars] + ([] if cfg.lac_tune else [model.net.lac])
    for encoder in frozen:  # frozen LAC encoders run in ONNX Runtime while training: the same function, faster
        if encoder is not None:
            encoder.accelerate()
    opts = Optimizers(model, cfg.lr, cfg.emb_lr, cfg.lac_lr)
    pool = entity_pool(train_set)
    if cfg.augment_lexicon:
        pool = add_lexicon_entities(pool, out / "lexicon.tsv")
    brands = lexicon_brands(out / "lexicon.tsv") if cfg.augment_brands else []
    distill = (posterior_loss(EnsembleTeacher(cfg.teachers, labels), model.crf, cfg.distill_weight)
               if cfg.teachers else None)
    dev_texts = [normalize(s.text) for s in dev]
    best, history = -1.0, []
    for epoch in range(1, cfg.epochs + 1):
        opts.set_decay(cfg.lr_decay ** (epoch - 1))
        sents = augmented(train_set, pool, brands, rng, cfg) + unlabelled
        t0 = time.time()
        loss = train_epoch(model, feat, sents, tag_id, opts, cfg.batch_size, rng, cfg.char_dropout,
                           f"epoch {epoch}/{cfg.epochs}", extra_loss=distill,
                           entity_dropout=(cfg.entity_bigram_dropout, cfg.entity_char_dropout))
        f1 = dev_f1(model, feat, dev_texts, dev, labels)
        history.append({"epoch": epoch, "loss": round(loss, 4), "dev_f1": f1, "seconds": round(time.time() - t0, 1)})
        print(f"epoch {epoch}: loss {loss:.4f}  dev F1 {f1:.4f}  ({time.time() - t0:.0f}s)", flush=True)
        if cfg.keep_epochs:
            model.save(out / f"checkpoint.epoch{epoch}.pt", labels, epoch=epoch, dev_f1=f1)
        if f1 > best:
            best = f1
            model.save(out / CHECKPOINT, labels, epoch=epoch, dev_f1=f1)

    info = {
        "data": os.path.relpath(cfg.data, ROOT), "command": command, **({"recipe": recipe} if recipe else {}),
        "args": cfg.to_dict(), "best_dev_f1": best, "history": history,
        "train_seconds": round(time.time() - started, 1), "threads": cfg.threads, "train_sentences": len(train_set),
        "unlabelled_sentences": len(unlabelled),
    }
    base_info = cfg.init_from.parent / "training.json" if cfg.init_from else None
    if base_info is not None and base_info.is_file():  # a fine-tune: keep the run it started from
        info["base"] = json.loads(base_info.read_text(encoding="utf-8"))
        info["total_train_seconds"] = round(info["train_seconds"] + _total_seconds(info["base"]), 1)
    if cfg.teachers:  # distilled: the teachers' training is part of what it took
        info["teachers"] = [json.loads((d / "training.json").read_text(encoding="utf-8")) for d in cfg.teacher_dirs()
                            if (d / "training.json").is_file()
                            and not (cfg.init_from and d.resolve() == cfg.init_from.parent.resolve())]
        info["total_train_seconds"] = round(info.get("total_train_seconds", info["train_seconds"])
                                            + sum(_total_seconds(t) for t in info["teachers"]), 1)
    (out / "training.json").write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"best dev F1 {best:.4f}; checkpoint {out / CHECKPOINT}; {info['train_seconds']:.0f}s")
    return info


def _total_seconds(info: dict) -> float:
    return info.get("total_train_seconds", info["train_seconds"])
