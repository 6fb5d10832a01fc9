"""The model description (``manifest.json``): labels, inputs, CRF file and the variants with their files."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .errors import REBUILD_HINT, ModelError

MANIFEST = "manifest.json"
VARIANT_FIELDS = ("file", "size_bytes", "parameters", "description", "metrics", "batch_invariant")


@dataclass(frozen=True)
class Variant:
    """One ONNX file of the model (fp32, int8, pruned, ...) and what was measured on it."""

    name: str
    file: str
    size_bytes: int = 0
    parameters: int = 0
    description: str = ""
    metrics: dict = field(default_factory=dict)
    # False for dynamically quantized graphs: their activation scales are computed per call over the whole batch,
    # so the runtime runs each piece alone to keep a text's entities independent of its batch-mates.
    batch_invariant: bool = True


@dataclass(frozen=True)
class Manifest:
    """Everything the runtime needs to know about a model directory."""

    path: Path
    name: str
    labels: tuple[str, ...]
    scheme: str
    max_length: int
    inputs: dict
    crf: str
    default_variant: str
    variants: dict[str, Variant]
    raw: dict

    def file(self, name: str) -> Path:
        """A file of the model directory; ModelError naming it if absent."""
        p = self.path / name
        if not p.is_file():
            raise ModelError(f"model file missing: {p}; " + REBUILD_HINT.format(path=self.path))
        return p


def read_manifest(path: str | Path) -> Manifest:
    """Read and check ``<path>/manifest.json``."""
    path = Path(path)
    mpath = path / MANIFEST
    hint = REBUILD_HINT.format(path=path)
    if not path.is_dir():
        raise ModelError(f"model directory not found: {path}; " + hint)
    try:
        raw = json.loads(mpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"no {MANIFEST} in {path}; " + hint) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelError(f"{mpath} is not valid JSON ({e}); " + hint) from None
    try:
        variants = {name: Variant(name=name, **{k: v for k, v in spec.items() if k in VARIANT_FIELDS})
                    for name, spec in raw["variants"].items()}
        manifest = Manifest(
            path=path, name=raw["name"], labels=tuple(raw["labels"]), scheme=raw.get("scheme", "BIO"),
            max_length=int(raw["max_length"]), inputs=dict(raw["inputs"]), crf=raw["crf"],
            default_variant=raw["default_variant"], variants=variants, raw=raw,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ModelError(f"{mpath} is incomplete or malformed ({type(e).__name__}: {e}); " + hint) from None
    if manifest.default_variant not in variants:
        raise ModelError(f"{mpath}: default_variant {manifest.default_variant!r} is not among the variants {sorted(variants)}; " + hint)
    if manifest.max_length < 1:
        raise ModelError(f"{mpath}: max_length must be positive")
    return manifest
