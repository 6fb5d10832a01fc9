"""The model description (``manifest.json``), read and written as typed records: labels, inputs, CRF file and
the variants with their files, what they override and what was measured on them."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import LFS_POINTER_HINT, REBUILD_HINT, ModelError

MANIFEST = "manifest.json"
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"  # how a Git LFS pointer file starts
FORMAT = 1
INPUT_FILES = ("vocab", "bigrams", "lexicon", "lac_tokens")  # input keys that name files (raner/recognizer.py)
_AFTER_WRITE: list[Callable[[], None]] = []


@dataclass(frozen=True)
class Member:
    """One model an ensemble variant runs: its directory at build time and how it was trained."""

    dir: str
    training: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"dir": self.dir, "training": dict(self.training)}


@dataclass(frozen=True)
class Variant:
    """One ONNX file of the model (fp32, int8, pruned, an ensemble, ...), what it overrides and what was measured.

    ``inputs`` overrides the model's input files (a pruned bigram table; ``None``: no overrides), ``crf`` names the
    variant's own CRF file (an ensemble's averaged scores; ``None``: the model's), ``members`` lists an ensemble's
    models and ``network`` the shape of a network that differs from the model's (a pruned transformer).
    """

    name: str
    file: str
    size_bytes: int = 0
    parameters: int = 0
    description: str = ""
    metrics: dict = field(default_factory=dict)
    inputs: dict | None = None
    crf: str | None = None
    network: dict | None = None
    members: tuple[Member, ...] = ()
    total_train_seconds: float | None = None
    # False for dynamically quantized graphs: their activation scales are computed per call over the whole batch,
    # so the runtime runs each piece alone to keep a text's entities independent of its batch-mates.
    batch_invariant: bool = True
    extra: dict = field(default_factory=dict)  # fields this version does not know, kept so a rewrite loses nothing

    def to_dict(self) -> dict:
        """The variant's entry in ``manifest.json`` (optional fields only when set)."""
        d = {"file": self.file, "size_bytes": self.size_bytes, "parameters": self.parameters,
             "description": self.description, "metrics": self.metrics}
        optional = {"inputs": self.inputs, "crf": self.crf, "network": self.network,
                    "members": [m.to_dict() for m in self.members] or None,
                    "total_train_seconds": self.total_train_seconds}
        d.update({k: v for k, v in optional.items() if v is not None})
        if not self.batch_invariant:
            d["batch_invariant"] = False
        return {**d, **self.extra}

    @classmethod
    def from_dict(cls, name: str, spec: dict) -> Variant:
        known = {f.name for f in fields(cls)} - {"name", "extra", "members"}
        members = tuple(Member(str(m["dir"]), dict(m.get("training", {}))) for m in spec.get("members", ()))
        return cls(name=name, members=members, extra={k: v for k, v in spec.items() if k not in known | {"members"}},
                   **{k: v for k, v in spec.items() if k in known})


@dataclass(frozen=True)
class Manifest:
    """Everything the runtime needs to know about a model directory, and what the build recorded there."""

    path: Path
    name: str
    labels: tuple[str, ...]
    scheme: str
    max_length: int
    inputs: dict
    crf: str
    default_variant: str
    variants: dict[str, Variant]
    format: int = FORMAT
    created: str | None = None
    network: dict | None = None
    training: dict | None = None
    checks: dict | None = None
    pruning: dict | None = None
    extra: dict = field(default_factory=dict)  # top-level fields this version does not know

    def file(self, name: str) -> Path:
        """A file of the model directory; ModelError naming it if absent or a Git LFS pointer in its place."""
        p = self.path / name
        if not p.is_file():
            raise ModelError(f"model file missing: {p}; " + REBUILD_HINT.format(path=self.path))
        with open(p, "rb") as f:
            if f.read(len(LFS_POINTER)) == LFS_POINTER:
                raise ModelError(LFS_POINTER_HINT.format(file=p, path=self.path))
        return p

    def variant_inputs(self, variant: str) -> dict:
        """The model's input files with the variant's own overrides."""
        return {**self.inputs, **(self.variants[variant].inputs or {})}

    def variant_crf(self, variant: str) -> str:
        """The variant's CRF file: its own, else the model's."""
        return self.variants[variant].crf or self.crf

    def variant_files(self, variant: str) -> list[str]:
        """Every file of the directory the runtime opens to serve ``variant``: its ONNX file, the model's CRF (always
        checked) and the variant's own, and its input files with the variant's overrides."""
        inputs = self.variant_inputs(variant)
        if inputs.get("kind") == "wordpiece":
            inputs = {"vocab": "vocab.txt", **inputs}  # the default of raner.wordpiece
        names = [self.variants[variant].file, self.crf, self.variant_crf(variant)]
        names += [inputs[key] for key in INPUT_FILES if inputs.get(key)]
        return list(dict.fromkeys(names))

    def referenced_files(self) -> set[str]:
        """Files of the directory that some variant names."""
        return {name for v in self.variants for name in self.variant_files(v)}

    def with_variant(self, variant: Variant, default: bool = False) -> Manifest:
        """This manifest with ``variant`` added or replaced in place (and made the default if asked)."""
        variants = {**self.variants, variant.name: variant}
        return replace(self, variants=variants, default_variant=variant.name if default else self.default_variant)

    def to_dict(self) -> dict:
        """The ``manifest.json`` content (optional fields only when set)."""
        d: dict = {"name": self.name, "format": self.format}
        if self.created is not None:
            d["created"] = self.created
        d.update({"labels": list(self.labels), "scheme": self.scheme, "max_length": self.max_length,
                  "inputs": self.inputs, "crf": self.crf})
        if self.network is not None:
            d["network"] = self.network
        d["default_variant"] = self.default_variant
        d["variants"] = {n: v.to_dict() for n, v in self.variants.items()}
        d.update({k: v for k, v in (("training", self.training), ("checks", self.checks), ("pruning", self.pruning))
                  if v is not None})
        return {**d, **self.extra}


def manifest_from_dict(path: str | Path, raw: dict) -> Manifest:
    """A Manifest from ``manifest.json`` content (KeyError, TypeError or ValueError if incomplete)."""
    known = {f.name for f in fields(Manifest)} - {"path", "extra"}
    return Manifest(
        path=Path(path), name=raw["name"], labels=tuple(raw["labels"]), scheme=raw.get("scheme", "BIO"),
        max_length=int(raw["max_length"]), inputs=dict(raw["inputs"]), crf=raw["crf"],
        default_variant=raw["default_variant"],
        variants={name: Variant.from_dict(name, spec) for name, spec in raw["variants"].items()},
        format=raw.get("format", FORMAT), created=raw.get("created"), network=raw.get("network"),
        training=raw.get("training"), checks=raw.get("checks"), pruning=raw.get("pruning"),
        extra={k: v for k, v in raw.items() if k not in known},
    )


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
        manifest = manifest_from_dict(path, raw)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ModelError(f"{mpath} is incomplete or malformed ({type(e).__name__}: {e}); " + hint) from None
    if manifest.default_variant not in manifest.variants:
        raise ModelError(f"{mpath}: default_variant {manifest.default_variant!r} is not among the variants "
                         f"{sorted(manifest.variants)}; " + hint)
    if manifest.max_length < 1:
        raise ModelError(f"{mpath}: max_length must be positive")
    return manifest


def on_write(hook: Callable[[], None]) -> Callable[[], None]:
    """Call ``hook`` after every ``write_manifest`` (the runtime's caches of loaded model files register here)."""
    _AFTER_WRITE.append(hook)
    return hook


def write_manifest(path: str | Path, manifest: Manifest) -> None:
    """Write ``<path>/manifest.json``, then drop what the runtime has cached of model directories."""
    if manifest.default_variant not in manifest.variants:
        raise ValueError(f"default_variant {manifest.default_variant!r} is not among the variants "
                         f"{sorted(manifest.variants)}")
    text = json.dumps(manifest.to_dict(), ensure_ascii=False, indent=2) + "\n"
    (Path(path) / MANIFEST).write_text(text, encoding="utf-8")
    for hook in _AFTER_WRITE:
        hook()


def register_variant(model_dir: str | Path, variant: Variant, default: bool = False) -> Manifest:
    """Add ``variant`` to the model directory's manifest, or replace the one of its name; returns the new manifest."""
    manifest = read_manifest(model_dir).with_variant(variant, default)
    write_manifest(model_dir, manifest)
    return manifest


def copy_model(model: str | Path, out: str | Path, variants: list[str], extra: tuple[str, ...] = ()) -> Manifest:
    """Copy the files ``variants`` of ``model`` need (and the ``extra`` files it has) into the new directory
    ``out``, with a manifest naming only those variants (the first is the default) and ``out``'s folder name."""
    manifest = read_manifest(model)
    unknown = [v for v in variants if v not in manifest.variants]
    if not variants or unknown:
        raise ValueError(f"variants {unknown or variants} not among {sorted(manifest.variants)}")
    files = list(dict.fromkeys(f for v in variants for f in manifest.variant_files(v)))
    sources = [manifest.file(f) for f in files] + [Path(model) / f for f in extra if (Path(model) / f).is_file()]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for src in sources:
        shutil.copy2(src, out / src.name)
    kept = replace(manifest, path=out, name=out.name, variants={n: manifest.variants[n] for n in variants},
                   default_variant=variants[0])
    write_manifest(out, kept)
    return kept
