"""Bulk annotation: stream documents from .txt/.jsonl/.csv, write entities as jsonl, csv or CoNLL.

python -m raner annotate INPUT OUTPUT [--format jsonl|csv|conll] [--workers N] [--variant V]

Memory stays constant: documents are read, annotated and written in bounded chunks; with
``--workers N`` each worker process holds its own recognizer (one ONNX session each).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .entity import Entity
from .errors import LimitExceeded
from .spans import spans_to_tags

FORMATS = ("jsonl", "csv", "conll")
CHUNK = 256
MAX_FIELD_BYTES = 16 * 1024 * 1024  # one CSV field; longer ones are reported as a bad row, not a crash
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet runs a cell starting with these as a formula
MAX_ERRORS_KEPT = 20  # bad rows listed in the result (all are counted)
NOT_UTF8 = "not UTF-8 text (save the file as UTF-8)"
_UNDECODED = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of each byte UTF-8 cannot decode


@dataclass
class Doc:
    """One input document: its text and the other fields it came with (kept in jsonl/csv output).

    ``error`` says why a line could not be read (it is then skipped and reported, not annotated)."""

    text: str
    fields: dict
    line: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Budget:
    """Bounds on one annotation job; None means unbounded (the command line's default)."""

    documents: int | None = None
    characters: int | None = None
    document_chars: int | None = None
    output_bytes: int | None = None


def read_docs(path: Path, column: str = "text") -> Iterator[Doc]:
    """Documents from .jsonl (``{"text": ...}``), .csv (``column``) or any other file (one per line).

    A UTF-8 byte-order mark (what Excel writes) is skipped. A line that cannot be read becomes a Doc with an
    ``error`` (line numbers, never paths), so one bad row does not fail the whole job. A CSV without the
    column raises ValueError listing the columns it has.
    """
    suffix = path.suffix.lower()
    # bytes that are not UTF-8 come through as lone surrogates: their line is reported, the rest still read
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
        if suffix == ".jsonl":
            for n, line in enumerate(f, 1):
                if _UNDECODED.search(line):
                    yield Doc("", {}, n, NOT_UTF8)
                elif line.strip():
                    yield _jsonl_doc(line, n)
        elif suffix == ".csv":
            yield from _csv_docs(f, column)
        else:
            for n, line in enumerate(f, 1):
                yield Doc("", {}, n, NOT_UTF8) if _UNDECODED.search(line) else Doc(line.rstrip("\r\n"), {}, n)


def _jsonl_doc(line: str, n: int) -> Doc:
    try:
        obj = json.loads(line)
    except RecursionError:
        return Doc("", {}, n, "nested too deeply")
    except ValueError as e:
        return Doc("", {}, n, f"not valid JSON ({str(e)[:80]})")
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return Doc("", {}, n, "not a JSON object with a string 'text'")
    return Doc(obj["text"], obj, n)


def _csv_docs(f: TextIO, column: str) -> Iterator[Doc]:
    csv.field_size_limit(MAX_FIELD_BYTES)
    reader = csv.reader(f)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as e:
        raise ValueError(f"cannot read the CSV header ({e})") from None
    if column not in header:
        shown = ", ".join(repr(h[:40]) for h in header[:20]) or "none"
        raise ValueError(f"no column {column!r}; the columns are {shown}")
    at = header.index(column)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield Doc("", {}, reader.line_num, f"unreadable CSV row ({str(e)[:80]})")
            continue
        if not row:
            continue
        if any(_UNDECODED.search(cell) for cell in row):
            yield Doc("", {}, reader.line_num, NOT_UTF8)
            continue
        fields = dict(zip(header, row))
        if at >= len(row):
            yield Doc("", fields, reader.line_num, f"row has no {column!r} value")
            continue
        yield Doc(row[at], fields, reader.line_num)


def _chunks(docs: Iterable[Doc], size: int) -> Iterator[list[Doc]]:
    chunk: list[Doc] = []
    for d in docs:
        chunk.append(d)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def csv_cell(value) -> str:
    """A CSV cell that a spreadsheet shows as text: JSON for nested values, a leading ' before a formula start."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class Writer:
    """Writes annotated documents in one of FORMATS.

    CSV columns are the first document's fields plus ``entities``; later rows with other keys keep the
    columns they share (every key stays in JSONL output)."""

    def __init__(self, out: TextIO, fmt: str):
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
        self.out, self.fmt, self._csv = out, fmt, None

    def write(self, doc: Doc, entities: list[Entity]) -> None:
        ents = [e.to_dict() for e in entities]
        if self.fmt == "jsonl":
            self.out.write(
                json.dumps(
                    {**doc.fields, "text": doc.text, "entities": ents}, ensure_ascii=False, separators=(",", ":")
                )
                + "\n"
            )
        elif self.fmt == "csv":
            row = {**(doc.fields or {"text": doc.text}), "entities": ents}
            if self._csv is None:
                self._csv = csv.DictWriter(self.out, fieldnames=list(row), restval="", extrasaction="ignore")
                self._csv.writeheader()
            self._csv.writerow({k: csv_cell(v) for k, v in row.items()})
        else:
            tags = spans_to_tags([(e.type, e.start, e.end) for e in entities], len(doc.text))
            for ch, tag in zip(doc.text, tags):
                if not ch.isspace():
                    self.out.write(f"{ch}\t{tag}\n")
            self.out.write("\n")


_worker_rec = None


def _init_worker(model, variant, scores: bool = True) -> None:
    global _worker_rec
    from . import load

    _worker_rec = load(model, variant, cache_size=0, scores=scores)


def _annotate_chunk(texts: list[str]) -> list[list[Entity]]:
    return _worker_rec.predict_batch(texts)


def annotate(
    src: Path,
    dst: Path | dict[str, Path],
    fmt: str = "jsonl",
    workers: int = 1,
    model=None,
    variant: str | None = None,
    column: str = "text",
    progress: bool | None = None,
    recognizer=None,
    callback=None,
    budget: Budget = Budget(),
    scores: bool = True,
) -> dict:
    """Annotate every document of ``src``; returns documents, characters, entities per type, seconds, bad rows.

    ``dst`` is one output file in ``fmt``, or ``{format: path}`` to write several formats in one pass.
    ``recognizer`` reuses a loaded one (single process); ``callback(documents, characters)`` reports progress.
    ``scores`` adds each entity's probability, as the app's Bulk tab does. ``budget`` bounds the job: past a
    bound it stops with LimitExceeded (a document over ``document_chars`` is skipped and reported instead).
    """
    from . import load

    targets = dst if isinstance(dst, dict) else {fmt: dst}
    for path in targets.values():
        if Path(path).exists() and Path(path).resolve() == Path(src).resolve():
            raise ValueError(f"the output {path} is the input file; writing it would erase the input before it is "
                             "read: choose another output name")
    show = sys.stderr.isatty() if progress is None else progress
    stats: dict = {"documents": 0, "characters": 0, "entities": {}, "seconds": 0.0, "skipped": 0, "errors": []}
    t0 = time.perf_counter()
    chunks = _chunks(_within(read_docs(src, column), budget, stats), CHUNK)
    with ExitStack() as files:
        handles, sizes = [], []
        for path in targets.values():
            handle, size = _open_output(Path(path), files)
            handles.append(handle)
            sizes.append(size)
        writers = [Writer(h, f) for h, f in zip(handles, targets)]

        def emit(docs: list[Doc], results: list[list[Entity]]) -> None:
            for d, ents in zip(docs, results):
                for writer in writers:
                    writer.write(d, ents)
                stats["documents"] += 1
                stats["characters"] += len(d.text)
                for e in ents:
                    stats["entities"][e.type] = stats["entities"].get(e.type, 0) + 1
            if budget.output_bytes is not None and sum(size() for size in sizes) > budget.output_bytes:
                raise LimitExceeded(
                    f"the output would be larger than {budget.output_bytes:,} bytes "
                    f"(after {stats['documents']:,} documents); annotate a smaller file"
                )
            if callback is not None:
                callback(stats["documents"], stats["characters"])
            if show:
                secs = time.perf_counter() - t0
                sys.stderr.write(
                    f"\r{stats['documents']} documents, {stats['characters'] / max(secs, 1e-9):,.0f} chars/s"
                )

        if workers <= 1:
            rec = recognizer or load(model, variant, cache_size=0, scores=scores)
            for docs in chunks:
                emit(docs, rec.predict_batch([d.text for d in docs]))
        else:
            with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(model, variant, scores)) as pool:
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


def _open_output(path: Path, files: ExitStack) -> tuple[TextIO, Callable[[], int]]:
    """A text handle for one output file and how many bytes it has put on disk so far. ``*.zip`` is written
    compressed, as one member named like the archive without ``.zip`` (``x.entities.jsonl.zip`` holds
    ``x.entities.jsonl``): the app's Bulk downloads, about a third of the plain output's bytes."""
    if path.suffix.lower() != ".zip":
        handle = files.enter_context(open(path, "w", encoding="utf-8", newline=""))
        return handle, handle.tell
    archive = files.enter_context(zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED))
    disk = archive.fp
    member = archive.open(path.stem, "w", force_zip64=True)  # a CLI run may write more than 2 GB
    handle = files.enter_context(io.TextIOWrapper(member, encoding="utf-8", newline=""))
    return handle, disk.tell


def check_budget(src: Path, column: str, budget: Budget) -> None:
    """Read every document of ``src`` against ``budget`` without a model: the LimitExceeded (or, for a CSV without
    the column, ValueError) that ``annotate`` would raise, in a fraction of its time, so a server can refuse an
    oversized file before it starts a job for it."""
    stats: dict = {"skipped": 0, "errors": []}
    for _ in _within(read_docs(src, column), budget, stats):
        pass


def _within(docs: Iterable[Doc], budget: Budget, stats: dict) -> Iterator[Doc]:
    """The readable documents within ``budget``; bad or over-long ones are counted and listed in ``stats``."""
    seen = chars = 0
    for d in docs:
        seen += 1
        if budget.documents is not None and seen > budget.documents:
            raise LimitExceeded(f"the file has more than {budget.documents:,} documents; split it into smaller files")
        if d.error is None and budget.document_chars is not None and len(d.text) > budget.document_chars:
            d.error = f"document has {len(d.text):,} characters; the limit is {budget.document_chars:,}"
        if d.error is not None:
            stats["skipped"] += 1
            if len(stats["errors"]) < MAX_ERRORS_KEPT:
                stats["errors"].append({"line": d.line, "error": d.error})
            continue
        chars += len(d.text)
        if budget.characters is not None and chars > budget.characters:
            raise LimitExceeded(
                f"the file has more than {budget.characters:,} characters of text; split it into smaller files"
            )
        yield d
