"""Training options as one typed record (``TrainConfig``): read from a recipe file (``configs/*.json``, plain values),
checked as a whole before any work, and recorded with the model."""
from __future__ import annotations

import functools
import json
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path

from .data import DEFAULT_DATA
from .distill import teacher_spec
from .lac_files import lac_model_dir


class ConfigError(ValueError):
    """Training options that cannot work together; the message says what to change."""


def option(default, doc: str):
    """A TrainConfig field with its command-line help."""
    return field(default=default, metadata={"help": doc})


AUGMENTATIONS = ("augment", "augment_places", "augment_brands", "augment_name_lists", "augment_latin")
COUNTS = ("epochs", "batch_size", "threads", "hidden", "char_dim", "bigram_dim", "bigram_min_count", "word_dim")
SHARES = ("augment", "augment_places", "augment_brands", "headquarters", "augment_name_lists", "augment_latin",
          "char_dropout", "entity_bigram_dropout", "entity_char_dropout", "dropout")


@dataclass(frozen=True)
class TrainConfig:
    """How to train the char + bigram + lexicon BiLSTM-attention-CRF tagger; each field is a ``--flag`` of
    ``python -m compression.train`` and a key of a recipe file."""

    out: Path | None = option(None, "model directory to write (required, here or in the recipe)")
    data: Path = option(DEFAULT_DATA, "folder with train.txt and dev.txt")
    epochs: int = option(14, "training epochs")
    batch_size: int = option(32, "sentences a batch")
    lr: float = option(2e-3, "learning rate of the dense layers")
    emb_lr: float = option(0.01, "learning rate of the (sparse) embedding tables")
    lr_decay: float = option(0.88, "learning rate factor per epoch")
    seed: int = option(13, "random seed (weights, batches, augmentation)")
    threads: int = option(1, "torch threads")
    hidden: int = option(128, "BiLSTM units per direction")
    char_dim: int = option(128, "character embedding size")
    bigram_dim: int = option(64, "bigram embedding size")
    heads: int = option(4, "self-attention heads (0: none)")
    dropout: float = option(0.5, "dropout rate")
    bigram_min_count: int = option(2, "bigrams seen fewer times in train.txt share the [UNK] row")
    no_bigrams: bool = option(False, "train without character bigrams")
    no_lexicon: bool = option(False, "train without jieba gazetteer features")
    lac: Path | None = option(None, "LAC folder (python -m compression.lac --download build/lac): adds SoftLexicon "
                              "word sets with LAC's pretrained word embeddings")
    lac_encoder: bool = option(False, "feed LAC's frozen BiGRU states to the BiLSTM (needs --lac)")
    lac_words: bool = option(False, "the LAC encoder reads LAC's own word segmentation (its 58k-row table) instead of "
                             "our characters (needs --lac-encoder)")
    lac_both: bool = option(False, "with --lac-words: a second LAC encoder also reads our characters, and both views "
                            "join the BiLSTM input")
    lac_types: bool = option(False, "add LAC_PER/LAC_LOC/LAC_ORG gazetteer entries: LAC's words as its own tagger "
                             "types them (needs --lac)")
    listed_companies: bool = option(False, "add the organisation name lists of compression/gazetteers (China's "
                                    "listed companies, CC-CEDICT's organisations) to the lexicon, as "
                                    "compression.add_companies does for a served model")
    lac_tune: int = option(0, "fine-tune the top N (1 or 2) of LAC's 2 GRU layers (needs --lac-encoder; 0: frozen)")
    lac_lr: float = option(1e-3, "learning rate of the fine-tuned LAC layers (with --lac-tune)")
    word_dim: int = option(64, "PCA size of LAC's 128-d word embeddings")
    augment: float = option(0.0, "share of training sentences given substituted entities each epoch")
    augment_places: float = option(0.0, "share of sentences with an organisation rewritten as place + organisation + "
                                   "facility noun")
    augment_brands: float = option(0.0, "share of sentences with an organisation replaced by one of LAC's organisation "
                                   "names, with a place before it and a facility noun after it half of the time each, "
                                   "tagged apart (needs --lac-types)")
    headquarters: float = option(0.0, "share of --augment-brands' facility nouns that are 总部 (the rest drawn evenly)")
    augment_name_lists: float = option(0.0, "share of sentences with a person rewritten as a roster of 2-4 persons "
                                       "joined by nothing or 、")
    augment_latin: float = option(0.0, "share of sentences with one entity replaced by a made-up name of its type in "
                                  "Latin letters (OpenAI, Sam Altman: how modern text writes foreign names)")
    split_facilities: bool = option(False, "relabel training organisations ending in 总部: the noun is not part of the "
                                    "name, and a known place before a known organisation is tagged as a place "
                                    "(纽约联合国总部 → 纽约/LOC 联合国/ORG 总部)")
    split_branches: bool = option(False, "with --split-facilities, also take the guideline's branch and facility "
                                  "nouns (分行, 分公司, 基地, ...) out of organisations, and a known place after a "
                                  "known organisation (中国银行山东省分行 → 中国银行/ORG 山东省/LOC 分行)")
    augment_lexicon: bool = option(False, "the augmentations also draw jieba's typed words, not only training-set "
                                   "entities")
    char_dropout: float = option(0.01, "rate of replacing input characters by [UNK]")
    entity_bigram_dropout: float = option(0.0, "rate of replacing bigrams inside gold entities by [UNK] (teaches "
                                          "unseen names)")
    entity_char_dropout: float = option(0.0, "rate of replacing characters inside gold entities by [UNK]")
    teachers: tuple[Path, ...] = option((), "exported model directories (DIR: its fp32 variant; DIR:VARIANT) whose "
                                        "averaged posteriors the model also learns (distillation)")
    unlabelled: Path | None = option(None, "text file, one sentence a line, also trained on: learned only from the "
                                     "--teachers' posteriors (distillation on unlabelled text)")
    distill_weight: float = option(1.0, "weight of the distillation loss beside the gold CRF loss (with --teachers)")
    max_len: int = option(200, "training sentences longer than this are cut at entity-free points")
    init_from: Path | None = option(None, "start from this checkpoint's weights (same data, vocabularies and "
                                    "options): a fine-tune")
    keep_epochs: bool = option(False, "also keep each epoch's weights (checkpoint.epochN.pt)")
    limit: int = option(0, "use only the first N train/dev sentences (smoke tests; 0: all)")

    @classmethod
    def from_dict(cls, values: dict, source: str = "the options") -> TrainConfig:
        """A config from plain values (a recipe's JSON); unknown keys and wrong types are a ConfigError."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"{source}: unknown option(s) {', '.join(unknown)}; known: {', '.join(known)}")
        return cls(**{k: _coerce(k, v, source) for k, v in values.items()})

    @classmethod
    def from_file(cls, path: str | Path, **overrides) -> TrainConfig:
        """A recipe file's values, with ``overrides`` (e.g. command-line flags) on top."""
        return cls.from_dict({**read_recipe(path), **overrides}, source=str(path))

    def to_dict(self) -> dict:
        """Every option as a plain JSON value (paths as strings)."""
        def plain(v):
            if isinstance(v, Path):
                return str(v)
            if isinstance(v, tuple):
                return [plain(x) for x in v]
            return v
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}

    def problems(self) -> list[str]:
        """Every option that cannot work as given, each with what to change (empty: all is well)."""
        found = []

        def need(cond: bool, message: str) -> None:
            if not cond:
                found.append(message)

        need(self.out is not None, "no model directory to write: give --out DIR (or \"out\" in the recipe)")
        need(not self.lac_encoder or self.lac is not None,
             "--lac-encoder needs --lac <LAC folder> (python -m compression.lac --download build/lac fetches one)")
        need(not self.split_branches or self.split_facilities,
             "--split-branches extends --split-facilities: give both")
        need(not self.lac_words or self.lac_encoder,
             "--lac-words needs --lac-encoder (the encoder is what reads LAC's words)")
        need(not self.lac_both or self.lac_words, "--lac-both needs --lac-words (the word view; the character view is "
             "added to it)")
        need(self.lac_tune in (0, 1, 2), f"--lac-tune is 0, 1 or 2 (LAC has 2 GRU layers), not {self.lac_tune}")
        need(not self.lac_tune or self.lac_encoder, "--lac-tune needs --lac-encoder")
        need(self.lac_tune or self.lac_lr == _default("lac_lr"),
             "--lac-lr is the learning rate of --lac-tune's layers: add --lac-tune")
        need(not self.lac_types or self.lac is not None, "--lac-types needs --lac <LAC folder>: LAC's typed words come "
             "from its model files (without them the 12 LAC_* lexicon columns would always be zero)")
        need(not self.lac_types or not self.no_lexicon, "--lac-types adds lexicon entries: drop --no-lexicon")
        need(not (self.lac is not None and self.no_lexicon and not self.lac_encoder),
             "--lac with --no-lexicon and without --lac-encoder uses nothing of LAC: drop --lac, or add --lac-encoder")
        need(not self.augment_brands or self.lac_types, "--augment-brands draws LAC's organisation names from the "
             "lexicon: add --lac-types (and --lac)")
        need(not self.headquarters or self.augment_brands, "--headquarters is a share of --augment-brands' facility "
             "nouns: set --augment-brands too")
        need(not self.augment_lexicon or any(getattr(self, a) for a in AUGMENTATIONS),
             "--augment-lexicon widens the entity pool that --augment, --augment-places, --augment-brands and "
             "--augment-name-lists draw from: set one")
        need(not self.augment_lexicon or not self.no_lexicon,
             "--augment-lexicon draws from the lexicon: drop --no-lexicon")
        need(self.teachers or self.distill_weight == _default("distill_weight"),
             "--distill-weight weighs the --teachers' loss: add --teachers")
        need(self.unlabelled is None or bool(self.teachers),
             "--unlabelled text has no gold tags: it teaches only through --teachers' posteriors; add --teachers")
        need(self.lr > 0 and self.lac_lr > 0, "--lr and --lac-lr must be positive")
        need(self.emb_lr > 0, f"--emb-lr must be positive, not {self.emb_lr} (to train the embeddings at the dense "
             "layers' rate, give it the --lr value)")
        need(0 < self.lr_decay <= 1, f"--lr-decay is a factor in (0, 1], not {self.lr_decay}")
        for name in SHARES:
            need(0 <= getattr(self, name) <= 1, f"--{_flag(name)} is a share in [0, 1], not {getattr(self, name)}")
        for name in COUNTS:
            need(getattr(self, name) >= 1, f"--{_flag(name)} must be at least 1, not {getattr(self, name)}")
        need(self.heads >= 0, f"--heads must not be negative, not {self.heads}")
        need(self.limit >= 0, f"--limit must not be negative, not {self.limit}")
        need(self.max_len >= 2, f"--max-len must be at least 2, not {self.max_len}")
        return found

    def validate(self) -> None:
        """Raise ConfigError naming every option that cannot work as given (before any data is read)."""
        found = self.problems()
        if found:
            raise ConfigError("training options that cannot work:\n  - " + "\n  - ".join(found))

    def teacher_dirs(self) -> list[Path]:
        """The model directories the --teachers name (each ``DIR`` or ``DIR:VARIANT``)."""
        return [teacher_spec(t).dir for t in self.teachers]

    def check_files(self) -> None:
        """Raise ConfigError if a file or folder the options name is missing."""
        missing = [f"{self.data / name}: no such file (--data is a folder with train.txt and dev.txt)"
                   for name in ("train.txt", "dev.txt") if not (self.data / name).is_file()]
        if self.lac is not None and not _has_lac_model(self.lac):
            missing.append(f"{self.lac}: no LAC model there "
                           f"(fetch it with python -m compression.lac --download {self.lac})")
        if self.unlabelled is not None and not self.unlabelled.is_file():
            missing.append(f"{self.unlabelled}: no such file (--unlabelled is a text file, one sentence a line)")
        if self.init_from is not None and not self.init_from.is_file():
            missing.append(f"{self.init_from}: no such checkpoint (--init-from)")
        missing += [f"{t}: not an exported model directory (--teachers)"
                    for t, d in zip(self.teachers, self.teacher_dirs()) if not (d / "manifest.json").is_file()]
        if missing:
            raise ConfigError("training options name missing files:\n  - " + "\n  - ".join(missing))


def read_recipe(path: str | Path) -> dict:
    """A recipe file's values: one JSON object of option names (as in TrainConfig) to plain values."""
    try:
        values = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such recipe file (see configs/ for the shipped model's)") from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is not valid JSON ({e})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: a recipe is one JSON object of option names to values")
    return values


@functools.cache
def option_types() -> dict[str, object]:
    """Each option's declared type (``Path | None``, ``tuple[Path, ...]``, ``bool``, ...)."""
    return typing.get_type_hints(TrainConfig)


def _flag(name: str) -> str:
    return name.replace("_", "-")


def _default(name: str):
    return next(f.default for f in fields(TrainConfig) if f.name == name)


def _coerce(name: str, value, source: str):
    """A plain JSON value as the option's type (strings to paths); a ConfigError saying what was expected."""
    kind = option_types()[name]
    args = typing.get_args(kind)
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif Path in args and type(None) in args:
        ok = value is None or isinstance(value, (str, Path))
        value = None if value is None else Path(value)
    elif kind is Path:
        ok = isinstance(value, (str, Path))
        value = Path(value) if ok else value
    elif typing.get_origin(kind) is tuple:
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, (str, Path)) for v in value)
        value = tuple(Path(v) for v in value) if ok else value
    else:
        raise TypeError(f"TrainConfig.{name}: no reading for type {kind}")
    if not ok:
        raise ConfigError(f"{source}: {name} = {value!r} is not a {getattr(kind, '__name__', kind)}")
    return value


def _has_lac_model(lac_dir: Path) -> bool:
    try:
        lac_model_dir(lac_dir)
    except FileNotFoundError:
        return False
    return True
