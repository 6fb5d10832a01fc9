"""The NER service behind every front door (UI, Gradio API, REST): validation, variants, limits."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import raner

MAX_CHARS = int(os.environ.get("RANER_MAX_CHARS", "20000"))


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

    def to_dict(self) -> dict:
        return {"entities": [e.to_dict() for e in self.entities]}


class NerService:
    """Loads every variant of one model directory at start, so a broken model fails loudly and early."""

    def __init__(self, model_path: str | Path | None = None, threads: int = 1, max_chars: int = MAX_CHARS):
        base = raner.load(model_path, threads=threads)
        self.model_path = base.path
        self.recognizers = {v: (base if v == base.variant else base.with_variant(v)) for v in base.variants}
        self.default_variant = base.variant
        self.max_chars = max_chars

    @property
    def variants(self) -> list[str]:
        return list(self.recognizers)

    @property
    def manifest(self):
        return self.recognizers[self.default_variant].manifest

    def recognizer(self, variant: str | None) -> raner.Recognizer:
        """The recognizer of a variant named in a request; only the manifest's own names are accepted."""
        if variant is None or variant == "":
            return self.recognizers[self.default_variant]
        if not isinstance(variant, str) or variant not in self.recognizers:
            raise RequestError(f"unknown variant {variant!r}; choose one of {self.variants}", 422)
        return self.recognizers[variant]

    def check_text(self, text) -> str:
        if text is None:
            raise RequestError("missing 'text': send {\"text\": \"...\"}", 422)
        if not isinstance(text, str):
            raise RequestError(f"'text' must be a string, not {type(text).__name__}", 422)
        if len(text) > self.max_chars:
            raise RequestError(f"text has {len(text)} characters; the limit is {self.max_chars} per request", 413)
        return text

    def ner(self, text, variant: str | None = None) -> Result:
        """Validate and run one request."""
        text = self.check_text(text)
        rec = self.recognizer(variant)
        t0 = time.perf_counter()
        entities = rec.predict(text) if text.strip() else []
        return Result(entities, rec.variant, len(text), (time.perf_counter() - t0) * 1000)

    def health(self) -> dict:
        return {"status": "ok", "model": self.manifest.name, "variants": self.variants,
                "default_variant": self.default_variant, "version": raner.__version__, "max_chars": self.max_chars}
