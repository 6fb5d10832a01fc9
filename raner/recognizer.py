"""The Recognizer: text -> normalized chars -> ids -> ONNX emissions -> Viterbi tags -> entities."""

from __future__ import annotations

import json
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .bigrams import BigramTable
from .chunking import chunk_spans
from .crf import CRF, forward_backward, span_probabilities
from .entity import Entity
from .errors import REBUILD_HINT, ModelError, UnknownVariantError
from .features import Featurizer, read_table, unit_positions
from .lac_tokens import LacTokenizer
from .lexicon import Lexicon
from .manifest import Manifest, on_write, read_manifest
from .normalize import normalize
from .spans import tags_to_spans, trim_spaces
from .user_dict import UserDictionary

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "multi-base"


def _model_error(path: Path, file: str, e: Exception) -> ModelError:
    return ModelError(
        f"cannot read {path / file} ({type(e).__name__}: {str(e)[:200]}); " + REBUILD_HINT.format(path=path)
    )


@lru_cache(maxsize=16)
def _load_crf(path: Path, file: str) -> CRF:
    """A CRF score file of the model directory, with the scheme's forbidden moves applied."""
    manifest = _manifest(path)
    try:
        with np.load(manifest.file(file)) as z:
            crf = CRF.constrained(z["start"], z["end"], z["transitions"], manifest.labels, manifest.scheme)
    except ModelError:
        raise
    except Exception as e:  # numpy raises several types for a corrupt archive
        raise _model_error(path, file, e) from None
    if crf.transitions.shape != (len(manifest.labels),) * 2:
        raise ModelError(
            f"{path / file}: CRF size {crf.transitions.shape} does not match {len(manifest.labels)} labels"
        )
    return crf


@lru_cache(maxsize=8)
def _manifest(path: Path) -> Manifest:
    """The model directory's manifest, read once (until ``clear_loaded``)."""
    return read_manifest(path)


@lru_cache(maxsize=16)
def _featurizer(path: Path, inputs_json: str) -> Featurizer:
    manifest = _manifest(path)
    inputs = json.loads(inputs_json)
    kind = inputs.get("kind", "chars")
    if kind == "wordpiece":
        from .wordpiece import WordPieceFeaturizer

        return WordPieceFeaturizer.from_inputs(manifest, inputs)
    if kind != "chars":
        raise ModelError(
            f"{path / 'manifest.json'}: unknown input kind {kind!r} (this runtime knows 'chars' and 'wordpiece')"
        )
    current = "manifest.json"
    try:
        current = inputs["vocab"]
        chars = read_table(manifest.file(current))
        bigrams = lexicon = None
        if inputs.get("bigrams"):
            current = inputs["bigrams"]
            bigrams = BigramTable.read(manifest.file(current))
        if inputs.get("lexicon"):
            current = inputs["lexicon"]
            lexicon = Lexicon.read(
                manifest.file(current), inputs["lexicon_categories"], inputs.get("lexicon_set_size", 4)
            )
        lac = None
        if inputs.get("lac_tokens"):
            current = inputs["lac_tokens"]
            lac = LacTokenizer.read(manifest.file(current))
        current = inputs["vocab"]
        return Featurizer(chars, bigrams, lexicon, lac)
    except ModelError:
        raise
    except (OSError, KeyError, ValueError, UnicodeDecodeError, zipfile.BadZipFile, EOFError) as e:
        raise _model_error(path, current, e) from None


@lru_cache(maxsize=32)
def _session(file: Path, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(file), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types for corrupt files
        raise ModelError(
            f"onnxruntime cannot load {file} ({type(e).__name__}: {str(e)[:200]}); "
            + REBUILD_HINT.format(path=file.parent)
        ) from None


class Recognizer:
    """Named-entity recognizer for one variant of one model directory.

    ``user_dict`` (a ``词语 TYPE`` file, a mapping or a UserDictionary) forces its words to be entities.
    ``scores=True`` adds each entity's CRF span probability (forward-backward; costs about as much
    again as decoding). Results are cached per text in a bounded LRU (``cache_size``, 0 disables).
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_MODEL,
        variant: str | None = None,
        threads: int = 1,
        batch_size: int = 32,
        cache_size: int = 1024,
        scores: bool = False,
        user_dict: str | Path | UserDictionary | dict | None = None,
    ):
        for name, value in (("threads", threads), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int):
            raise ValueError(f"cache_size must be a whole number (0 turns the cache off), not {cache_size!r}")
        self.path = Path(path).resolve()
        self.manifest = _manifest(self.path)
        _load_crf(self.path, self.manifest.crf)  # the model's own CRF is checked whichever variant is asked for
        variant = variant or self.manifest.default_variant
        if variant not in self.manifest.variants:
            raise _unknown_variant(self.manifest, variant)
        self._featurizer = _featurizer(self.path, json.dumps(self.manifest.variant_inputs(variant), sort_keys=True))
        self._crf = _load_crf(self.path, self.manifest.variant_crf(variant))
        self.variant, self.threads, self.batch_size, self.scores = variant, threads, batch_size, scores
        # Dynamic INT8 scales activations per call: such a variant runs each piece alone, so a text's entities
        # never depend on what else is in the batch (predict_batch(xs) == [predict(x) for x in xs]).
        self._pieces_per_call = batch_size if self.manifest.variants[variant].batch_invariant else 1
        self.user_dict = as_user_dict(user_dict, self.types)
        labels = self.manifest.labels
        self._outside = labels.index("O") if "O" in labels else -1  # a path of nothing but O has no entity
        self._stop_tags = {
            kind: frozenset(
                {labels.index(f"I-{kind}")} if self.manifest.scheme == "BIO" and f"I-{kind}" in labels else ()
            )
            for kind in self.types
        }
        self._session = _session(self.manifest.file(self.manifest.variants[variant].file), threads)
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._cache: OrderedDict[str, tuple[Entity, ...]] = OrderedDict()
        self._cache_size, self._hits, self._misses = cache_size, 0, 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def types(self) -> tuple[str, ...]:
        """Entity types this model returns (e.g. PER, LOC, ORG); ``manifest.labels`` holds its tags (B-PER, ...)."""
        return tuple(sorted({t.split("-", 1)[1] for t in self.manifest.labels if "-" in t}))

    @property
    def variants(self) -> tuple[str, ...]:
        """The model's variants, the default first."""
        names = list(self.manifest.variants)
        names.remove(self.manifest.default_variant)
        return (self.manifest.default_variant, *names)

    def with_variant(self, variant: str) -> Recognizer:
        """Another variant of the same model (sessions and files are shared, caches are not)."""
        return self.with_options(variant=variant)

    def with_options(self, **changes) -> Recognizer:
        """The same recognizer with some of its options changed (``variant``, ``threads``, ``batch_size``,
        ``cache_size``, ``scores``, ``user_dict``); every other option, the user dictionary included, is kept."""
        options = {
            "variant": self.variant,
            "threads": self.threads,
            "batch_size": self.batch_size,
            "cache_size": self._cache_size,
            "scores": self.scores,
            "user_dict": self.user_dict,
        }
        unknown = set(changes) - set(options)
        if unknown:
            raise TypeError(f"unknown recognizer options {sorted(unknown)}; these can change: {', '.join(options)}")
        return Recognizer(self.path, **{**options, **changes})

    def predict(self, text: str) -> list[Entity]:
        """Entities in ``text``, offsets into ``text`` itself."""
        return self.predict_batch([text])[0]

    def predict_batch(self, texts: Iterable[str]) -> list[list[Entity]]:
        """Entities for each text (a list, or any iterable: a generator is read once); all pieces of all texts go
        through the network in shared batches."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("predict_batch takes a list of strings; use predict for one string")
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise TypeError(f"text must be a str, not {type(t).__name__}")
        results: list[tuple[Entity, ...] | None] = [self._cached(t) for t in texts]
        todo = sorted({t for t, r in zip(texts, results) if r is None})
        if todo:
            found = self._run(todo)
            for t in todo:
                self._store(t, found[t])
            results = [found[t] if r is None else r for t, r in zip(texts, results)]
        return [list(r) for r in results]  # type: ignore[arg-type]

    def cache_info(self) -> dict:
        """Hits, misses, hit rate and size of the result cache."""
        total = self._hits + self._misses
        return {
            "hits": self._hits,
            "misses": self._misses,
            "hit_rate": self._hits / total if total else 0.0,
            "size": len(self._cache),
            "max_size": self._cache_size,
        }

    def emissions(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Raw per-character tag scores of already-short texts (for tests and benchmarks)."""
        encoded = [self._featurizer.encode(normalize(t)) for t in texts]
        em = self._emit(encoded)
        return [em[i, : len(e)] for i, e in enumerate(encoded)]

    def _cached(self, text: str) -> tuple[Entity, ...] | None:
        if self._cache_size <= 0:
            return None
        with self._lock:
            hit = self._cache.get(text)
            if hit is None:
                self._misses += 1
                return None
            self._cache.move_to_end(text)
            self._hits += 1
            return hit

    def _store(self, text: str, entities: tuple[Entity, ...]) -> None:
        if self._cache_size <= 0:
            return
        with self._lock:
            self._cache[text] = entities
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _emit(self, encoded) -> np.ndarray:
        feeds = {k: v for k, v in self._featurizer.batch(encoded).items() if k in self._input_names}
        return self._session.run(None, feeds)[0]

    def _run(self, texts: list[str]) -> dict[str, tuple[Entity, ...]]:
        pieces = []  # (text index, piece start, normalized piece)
        for ti, text in enumerate(texts):
            norm = normalize(text)
            for a, b in chunk_spans(norm, self.manifest.max_length):
                if norm[a:b].strip():
                    pieces.append((ti, a, norm[a:b]))
        pieces.sort(key=lambda p: len(p[2]))
        found: list[list[Entity]] = [[] for _ in texts]
        labels, scheme = self.manifest.labels, self.manifest.scheme
        for s in range(0, len(pieces), self._pieces_per_call):
            group = pieces[s : s + self._pieces_per_call]
            encoded = [self._featurizer.encode(p[2]) for p in group]
            emissions = unit_emissions(self._emit(encoded), encoded)
            paths = self._crf.viterbi(emissions, [e.n_units for e in encoded])
            for (ti, offset, piece), enc, em, path in zip(group, encoded, emissions, paths):
                text = texts[ti]
                spans = (tags_to_spans([labels[j] for j in path.tolist()], scheme)
                         if (path != self._outside).any() else [])
                scores: list[float | None] = [None] * len(spans)
                if spans and self.scores:
                    tables = forward_backward(self._crf, em, len(path))
                    scores = span_probabilities(self._crf, tables, em, path,
                                                [(a, b, self._stop_tags[kind]) for kind, a, b in spans])
                for (kind, a, b), score in zip(spans, scores):
                    a, b = trim_spaces(piece, *enc.char_span(a, b))
                    if a < b:
                        found[ti].append(Entity(text[offset + a : offset + b], kind, offset + a, offset + b, score))
        if self.user_dict:
            return {t: tuple(self.user_dict.apply(t, sorted(f, key=lambda e: e.start))) for t, f in zip(texts, found)}
        return {t: tuple(sorted(f, key=lambda e: e.start)) for t, f in zip(texts, found)}


def check_variant_inputs(path: str | Path, variants: Iterable[str]) -> None:
    """Read the variants' input tables and CRFs once each (a set shared by several variants once), without keeping
    them: a server that loads variants lazily still stops at start, with a ModelError naming the file, when one of
    them is broken."""
    path = Path(path).resolve()
    manifest = _manifest(path)
    seen = set()
    for variant in variants:
        if variant not in manifest.variants:
            raise _unknown_variant(manifest, variant)
        inputs = json.dumps(manifest.variant_inputs(variant), sort_keys=True)
        if inputs not in seen:
            seen.add(inputs)
            _featurizer.__wrapped__(path, inputs)
        _load_crf(path, manifest.variant_crf(variant))


def _unknown_variant(manifest: Manifest, variant: str) -> UnknownVariantError:
    return UnknownVariantError(f"unknown variant {variant!r}; {manifest.name} has {', '.join(manifest.variants)}")


def as_user_dict(value, types) -> UserDictionary | None:
    """A UserDictionary from a path, a mapping, or one already built (None stays None)."""
    if value is None or isinstance(value, UserDictionary):
        return value
    if isinstance(value, (str, Path)):
        return UserDictionary.read(value, types)
    return UserDictionary(value, types)


@on_write
def clear_loaded() -> None:
    """Forget cached model files, featurizers and sessions (``write_manifest`` calls this after each write)."""
    _manifest.cache_clear()
    _load_crf.cache_clear()
    _featurizer.cache_clear()
    _session.cache_clear()


def unit_emissions(emissions: np.ndarray, encoded) -> np.ndarray:
    """Emissions of the decoded units only (sub-word models decode one unit per word or character)."""
    if all(e.positions is None for e in encoded):
        return emissions
    index, mask = unit_positions(encoded)
    return np.where(mask[:, :, None], emissions[np.arange(len(encoded))[:, None], index], 0).astype(emissions.dtype)


def load(path: str | Path | None = None, variant: str | None = None, threads: int = 1, **kwargs) -> Recognizer:
    """Load a model directory (default: the shipped model) and one of its variants (default: its default)."""
    return Recognizer(path or DEFAULT_MODEL, variant, threads, **kwargs)
