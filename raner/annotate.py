"""Bulk annotation: stream documents from .txt/.jsonl/.csv, write entities as jsonl, csv or CoNLL.

python -m raner annotate INPUT OUTPUT [--format jsonl|csv|conll] [--workers N] [--variant V]

Memory stays constant: documents are read, annotated and written in bounded chunks; with
``--workers N`` each worker process holds its own recognizer (one ONNX session each).
"""
from __future__ import annotations

import csv
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, TextIO

from .entity import Entity
from .spans import spans_to_tags

FORMATS = ("jsonl", "csv", "conll")
CHUNK = 256


@dataclass
class Doc:
    """One input document: its text and the other fields it came with (kept in jsonl/csv output)."""

    text: str
    fields: dict


def read_docs(path: Path, column: str = "text") -> Iterator[Doc]:
    """Documents from .jsonl (``{"text": ...}``), .csv (``column``) or any other file (one per line)."""
    suffix = path.suffix.lower()
    with open(path, encoding="utf-8", newline="") as f:
        if suffix == ".jsonl":
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                obj = json.loads(line)
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                    raise ValueError(f"{path}:{n}: each line must be a JSON object with a string 'text'")
                yield Doc(obj["text"], obj)
        elif suffix == ".csv":
            reader = csv.DictReader(f)
            if reader.fieldnames is None or column not in reader.fieldnames:
                raise ValueError(f"{path}: no column {column!r} (columns: {reader.fieldnames}); choose one with --column")
            for row in reader:
                yield Doc(row[column] or "", dict(row))
        else:
            for line in f:
                yield Doc(line.rstrip("\r\n"), {})


def _chunks(docs: Iterable[Doc], size: int) -> Iterator[list[Doc]]:
    chunk: list[Doc] = []
    for d in docs:
        chunk.append(d)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Writer:
    """Writes annotated documents in one of FORMATS."""

    def __init__(self, out: TextIO, fmt: str):
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
        self.out, self.fmt, self._csv = out, fmt, None

    def write(self, doc: Doc, entities: list[Entity]) -> None:
        ents = [e.to_dict() for e in entities]
        if self.fmt == "jsonl":
            self.out.write(json.dumps({**doc.fields, "text": doc.text, "entities": ents}, ensure_ascii=False) + "\n")
        elif self.fmt == "csv":
            row = {**(doc.fields or {"text": doc.text}), "entities": json.dumps(ents, ensure_ascii=False)}
            if self._csv is None:
                self._csv = csv.DictWriter(self.out, fieldnames=list(row))
                self._csv.writeheader()
            self._csv.writerow(row)
        else:
            tags = spans_to_tags([(e.type, e.start, e.end) for e in entities], len(doc.text))
            for ch, tag in zip(doc.text, tags):
                if not ch.isspace():
                    self.out.write(f"{ch}\t{tag}\n")
            self.out.write("\n")


_worker_rec = None


def _init_worker(model, variant) -> None:
    global _worker_rec
    from . import load

    _worker_rec = load(model, variant, cache_size=0)


def _annotate_chunk(texts: list[str]) -> list[list[Entity]]:
    return _worker_rec.predict_batch(texts)


def annotate(src: Path, dst: "Path | dict[str, Path]", fmt: str = "jsonl", workers: int = 1, model=None,
             variant: str | None = None, column: str = "text", progress: bool | None = None, recognizer=None,
             callback=None) -> dict:
    """Annotate every document of ``src``; returns documents, characters, entities per type, seconds.

    ``dst`` is one output file in ``fmt``, or ``{format: path}`` to write several formats in one pass.
    ``recognizer`` reuses a loaded one (single process); ``callback(documents, characters)`` reports progress.
    """
    from . import load

    targets = dst if isinstance(dst, dict) else {fmt: dst}
    show = sys.stderr.isatty() if progress is None else progress
    stats = {"documents": 0, "characters": 0, "entities": {}, "seconds": 0.0}
    t0 = time.perf_counter()
    chunks = _chunks(read_docs(src, column), CHUNK)
    with ExitStack() as files:
        writers = [Writer(files.enter_context(open(path, "w", encoding="utf-8", newline="")), f) for f, path in targets.items()]

        def emit(docs: list[Doc], results: list[list[Entity]]) -> None:
            for d, ents in zip(docs, results):
                for writer in writers:
                    writer.write(d, ents)
                stats["documents"] += 1
                stats["characters"] += len(d.text)
                for e in ents:
                    stats["entities"][e.type] = stats["entities"].get(e.type, 0) + 1
            if callback is not None:
                callback(stats["documents"], stats["characters"])
            if show:
                secs = time.perf_counter() - t0
                sys.stderr.write(f"\r{stats['documents']} documents, {stats['characters'] / max(secs, 1e-9):,.0f} chars/s")

        if workers <= 1:
            rec = recognizer or load(model, variant, cache_size=0)
            for docs in chunks:
                emit(docs, rec.predict_batch([d.text for d in docs]))
        else:
            with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(model, variant)) as pool:
                pending: list = []
                for docs in chunks:
                    pending.append((docs, pool.submit(_annotate_chunk, [d.text for d in docs])))
                    if len(pending) >= 2 * workers:  # bounded: constant memory, order kept
                        docs0, fut = pending.pop(0)
                        emit(docs0, fut.result())
                for docs0, fut in pending:
                    emit(docs0, fut.result())
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    stats["chars_per_s"] = round(stats["characters"] / stats["seconds"]) if stats["seconds"] else 0
    if show:
        sys.stderr.write("\n")
    return stats
