"""Writing a model directory's manifest and registering its variants with their measured scores."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import raner
from raner.manifest import MANIFEST
from raner.recognizer import clear_loaded

from .data import read_conll
from .evaluate import evaluate
from .onnx_info import parameter_count


def read_raw(out: Path) -> dict:
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))


def write_raw(out: Path, raw: dict) -> None:
    (out / MANIFEST).write_text(json.dumps(raw, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    forget_loaded()


def forget_loaded() -> None:
    """Drop the runtime's caches of model files, so a rewritten directory is read afresh."""
    clear_loaded()


def register_variant(out: Path, name: str, file: str, description: str) -> None:
    """Add or replace a variant entry (size and parameter count measured from the file)."""
    raw = read_raw(out)
    path = out / file
    raw["variants"][name] = {"file": file, "size_bytes": path.stat().st_size, "parameters": parameter_count(path),
                             "description": description, "metrics": {}}
    write_raw(out, raw)


def score_variants(out: Path, data: Path, names: list[str] | None = None) -> dict:
    """Evaluate variants through the runtime and store the scores: on a folder's dev.txt and test.txt,
    or on one CoNLL file (stored under its stem, e.g. ``test`` for test.txt)."""
    raw = read_raw(out)
    if data.is_file():
        splits = {data.stem: read_conll(data)}
    else:
        splits = {split: read_conll(data / f"{split}.txt") for split in ("dev", "test") if (data / f"{split}.txt").is_file()}
    for name in names or list(raw["variants"]):
        rec = raner.load(out, variant=name, cache_size=0)
        for split, sentences in splits.items():
            raw["variants"][name]["metrics"][split] = evaluate(rec, sentences)
            print(f"{name:>12} {split:>4} F1 {raw['variants'][name]['metrics'][split]['overall']['f1']:.4f}", flush=True)
    write_raw(out, raw)
    return raw


def choose_default(out: Path, candidates: list[str] | None = None, max_drop: float = 0.003) -> str:
    """The smallest candidate (default: every variant but fp32) whose dev F1 is within ``max_drop`` of fp32's
    (selected on dev, never test)."""
    raw = read_raw(out)
    candidates = [v for v in raw["variants"] if v != "fp32"] if candidates is None else candidates
    ref = raw["variants"]["fp32"]["metrics"]["dev"]["overall"]["f1"]
    ok = [c for c in candidates if c in raw["variants"] and ref - raw["variants"][c]["metrics"]["dev"]["overall"]["f1"] <= max_drop]
    best = min(ok, key=lambda c: raw["variants"][c]["size_bytes"]) if ok else "fp32"
    raw["default_variant"] = best
    write_raw(out, raw)
    return best


def today() -> str:
    return dt.date.today().isoformat()
