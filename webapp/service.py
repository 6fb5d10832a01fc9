"""The NER service behind every front door (UI, Gradio API, REST): validation, variants, limits."""

from __future__ import annotations

import ctypes
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import raner

from .limits import Limits

MAX_USER_WORDS, MAX_USER_WORD_LEN = 1000, 50  # per-request user dictionaries stay small
USER_DICT_CHARS = MAX_USER_WORDS * (MAX_USER_WORD_LEN + 8)  # the same as "词语 TYPE" lines
_IN_LINE = r"[^\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]"  # a character that does not end a line (str.splitlines)


def user_dict_lines(types: tuple[str, ...]) -> str:
    """The regular expression (Python's ``re``; the OpenAPI schema's pattern too) of a REST ``user_dict`` given as
    text: at most MAX_USER_WORDS lines, each blank, a ``#`` comment or ``词语 TYPE`` with a word of at most
    MAX_USER_WORD_LEN characters; every text it matches is a dictionary ``UserDictionary.parse`` accepts. Each line
    can match one way only (a word never starts with ``#``), so a failing text is rejected in linear time."""
    kinds = "|".join(map(re.escape, types))
    entry = rf"[ \t]*[^\s#](?:{_IN_LINE}{{0,{MAX_USER_WORD_LEN - 2}}}\S)?[ \t]+(?:{kinds})[ \t]*"
    line = rf"(?:[ \t]*|[ \t]*#{_IN_LINE}*|{entry})"
    return rf"^{line}(?:\r?\n{line}){{0,{MAX_USER_WORDS - 1}}}$"


class RequestError(ValueError):
    """A bad request: carries the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.status = status


@dataclass
class Result:
    """What one call produced, with how long it took."""

    entities: list[raner.Entity]
    variant: str
    chars: int
    milliseconds: float
    cached: bool = False  # answered from the result cache: the time is a lookup's, not the model's

    def to_dict(self) -> dict:
        return {"entities": [e.to_dict() for e in self.entities]}


class NerService:
    """Serves one model directory: the default variant loaded at start, the others on first use.

    Every variant's files are checked at start, so a broken model still fails early; loading lazily keeps a
    server that only ever answers with the default at the memory of one variant.
    """

    def __init__(self, model_path: str | Path | None = None, limits: Limits | None = None):
        self.limits = limits or Limits()
        base = raner.load(model_path, threads=self.limits.threads, scores=True)
        others = [v for v in base.variants if v != base.variant]
        for v in others:  # every variant's graph and tables are read now (then let go), so a broken one stops the start
            check_graph(base.manifest.file(base.manifest.variants[v].file))
        raner.recognizer.check_variant_inputs(base.path, others)
        trim_heap()  # the checked graphs' memory is free but still held by the C heap
        self.model_path, self.default_variant, self._names = base.path, base.variant, base.variants
        self._cached: dict[str, raner.Recognizer] = {base.variant: base}
        self._uncached: dict[str, raner.Recognizer] = {}  # the same sessions without a result cache, for long texts
        self._lock = threading.Lock()

    @property
    def max_chars(self) -> int:
        return self.limits.max_chars

    @property
    def variants(self) -> list[str]:
        return list(self._names)

    @property
    def manifest(self):
        return self._cached[self.default_variant].manifest

    def recognizer(self, variant: str | None, cached: bool = True) -> raner.Recognizer:
        """The recognizer of a variant named in a request; only the manifest's own names are accepted."""
        if variant is None or variant == "":
            variant = self.default_variant
        if not isinstance(variant, str) or variant not in self._names:
            shown = variant if not isinstance(variant, str) or len(variant) <= 60 else variant[:60] + "…"
            raise RequestError(f"unknown variant {shown!r}; choose one of {self.variants}", 422)
        pool = self._cached if cached else self._uncached
        rec = pool.get(variant)
        if rec is None:
            with self._lock:
                rec = pool.get(variant)
                if rec is None:
                    base = self._cached[self.default_variant]
                    rec = raner.load(
                        base.path, variant, threads=self.limits.threads, scores=True, cache_size=1024 if cached else 0
                    )
                    pool[variant] = rec
                    trim_heap()
        return rec

    def check_text(self, text) -> str:
        """The text itself if it can be analysed and answered in JSON; RequestError saying why not."""
        if text is None:
            raise RequestError('missing \'text\': send {"text": "..."}', 422)
        if not isinstance(text, str):
            raise RequestError(f"'text' must be a string, not {type(text).__name__}", 422)
        if len(text) > self.limits.max_chars:
            raise RequestError(
                f"text has {len(text)} characters; the limit is {self.limits.max_chars} per request", 413
            )
        check_unicode(text)
        return text

    def check(self, text, variant: str | None = None, user_dict=None) -> raner.Recognizer:
        """Validate a request without running it (so a bad one never waits for a worker)."""
        self.check_text(text)
        self.user_dictionary(user_dict)
        return self.recognizer(variant)

    def user_dictionary(self, entries) -> raner.UserDictionary | None:
        """A request's user dictionary: a {"词语": "TYPE"} mapping or "词语 TYPE" lines; RequestError if malformed."""
        if entries is None or entries == "" or entries == {}:
            return None
        try:
            if isinstance(entries, str):
                d = raner.UserDictionary.parse(entries, self.types)
            elif isinstance(entries, dict):
                d = raner.UserDictionary(entries, self.types)
            else:
                raise ValueError(f"user_dict must be an object or lines of '词语 TYPE', not {type(entries).__name__}")
        except ValueError as e:
            raise RequestError(f"user_dict: {e}", 422) from None
        if len(d) > MAX_USER_WORDS or d.max_len > MAX_USER_WORD_LEN:
            raise RequestError(
                f"user_dict: at most {MAX_USER_WORDS} words of at most {MAX_USER_WORD_LEN} characters", 422
            )
        return d

    def ner(self, text, variant: str | None = None, user_dict=None) -> Result:
        """Validate and run one request (a user dictionary, if given, overrides overlapping model entities)."""
        text = self.check_text(text)
        words = self.user_dictionary(user_dict)
        rec = self.recognizer(variant, cached=len(text) <= self.limits.cache_max_chars)
        hits = rec.cache_info()["hits"]
        t0 = time.perf_counter()
        entities = rec.predict(text) if text.strip() else []
        cached = rec.cache_info()["hits"] > hits
        if words is not None:
            entities = words.apply(text, entities)
        return Result(entities, rec.variant, len(text), (time.perf_counter() - t0) * 1000, cached)

    @property
    def types(self) -> tuple[str, ...]:
        """Entity types the model knows (what a user dictionary may assign)."""
        return self._cached[self.default_variant].types

    def health(self) -> dict:
        """Model, variants, limits and the default variant's result-cache figures (for monitoring and load tests)."""
        return {
            "status": "ok",
            "model": self.manifest.name,
            "variants": self.variants,
            "default_variant": self.default_variant,
            "version": raner.__version__,
            "max_chars": self.limits.max_chars,
            "cache": self._cached[self.default_variant].cache_info(),
        }


def check_graph(file: Path) -> None:
    """ModelError naming ``file`` if ONNX Runtime cannot open it; the session is not kept (variants load lazily)."""
    raner.recognizer._session.__wrapped__(file, 1)


def trim_heap() -> None:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim``): opening a variant's graph only to
    check it, or building the UI, frees tens of MB that the process would otherwise keep as resident memory. A no-op
    where there is no glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def check_unicode(text: str) -> None:
    """Reject unpaired surrogates: they are not Unicode characters, so no UTF-8 JSON answer could echo them."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise RequestError(
            f"text has an unpaired surrogate (U+{ord(text[e.start]):04X}) at index {e.start}; send valid Unicode text",
            422,
        ) from None
