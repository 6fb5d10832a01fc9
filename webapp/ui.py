"""The Gradio Blocks UI: a detect tab (实体侦测) and a compression benchmark tab (压缩对比)."""

from __future__ import annotations

import atexit
import logging
import math
import os
import secrets
import shutil
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import gradio as gr
import pandas as pd
from gradio.utils import get_upload_folder

from raner.annotate import FORMATS, Budget, check_budget
from raner.errors import LimitExceeded
from theme import COLORS, LABELS

from .figures import cards_html, guide_markdown, read_figures, scatter_html, shown_name, variant_table
from .jobs import Gate, JobRefused, run_isolated
from .limits import Limits, visitor_of
from .samples import example_texts, sample_texts
from .service import NerService, RequestError

LOW_CONFIDENCE = 0.6  # entities below this probability are marked in the table
BULK_PREFIX = "raner-bulk-"
BULK_SUFFIXES = (".txt", ".jsonl", ".csv")
log = logging.getLogger("raner.webapp")
UPLOAD_GONE = "that upload is gone (a job already read it, or it expired); upload the file again"


def header_html(default, machine: dict | None = None) -> str:
    """The page title and what the default variant measures (from its stored figures, never a promise), with the
    machine the benchmark ran on."""
    facts = [f"{default.size_mb:.1f} MB"]
    if default.ms_a_sentence:
        machine = machine or {}
        where = [str(machine["cpu"])] if machine.get("cpu") else []
        where += [f"{machine['cores']} cores"] if where and machine.get("cores") else []
        on = f" ({', '.join(where)})" if where else ""
        facts.append(f"{default.ms_a_sentence:.1f} ms a sentence on one CPU thread{on}")
    if default.f1 is not None:
        facts.append(f"F1 {default.f1:.3f} across news, social media, résumés and web news")
    return (
        '<div id="rl-header"><h1>RANER<span class="cyan">//</span>LITE</h1>'
        f"<p>中文命名实体识别 · 人名 PER · 地名 LOC · 机构名 ORG — default model: {', '.join(facts)}</p></div>"
    )


def user_error(message: str) -> gr.Error:
    """An error for the visitor: shown in the page, logged in one line (no traceback: it is not a bug)."""
    log.info("refused: %s", message)
    return gr.Error(message, print_exception=False)


def remove_old_outputs(folder: Path, max_age: float) -> int:
    """Delete this instance's Bulk job folders older than ``max_age`` seconds (Gradio serves a result only after
    the handler returns, so a handler cannot delete its own); returns how many were removed."""
    removed = 0
    for old in folder.glob("job-*"):
        try:
            if old.is_dir() and time.time() - old.stat().st_mtime > max_age:
                shutil.rmtree(old)
                removed += 1
        except OSError:  # already gone
            continue
    return removed


def uploaded_file(payload, upload_root: Path, limits: Limits) -> tuple[Path, str]:
    """The path of a file Gradio itself received (inside its upload folder), and the name the visitor gave it.

    The event runs without Gradio's preprocessing, so the client's FileData arrives as sent: a forged ``path``
    to any other file of the server is refused here before anything opens it.
    """
    if not payload:
        raise user_error("upload a .txt, .jsonl or .csv file first")
    path = payload.get("path") if isinstance(payload, dict) else None
    if not isinstance(path, str) or not path or "\0" in path:
        raise user_error("that is not an uploaded file; upload it with the file box")
    try:
        real = Path(path).resolve()
    except (OSError, RuntimeError):
        raise user_error("that is not an uploaded file; upload it with the file box") from None
    if not real.is_relative_to(upload_root) or real.parent == upload_root:
        raise user_error("that file was not uploaded to this server; upload it with the file box")
    if not real.is_file():  # inside the upload folder, but read by a job already or cleaned up
        raise user_error(UPLOAD_GONE)
    name = payload.get("orig_name") if isinstance(payload.get("orig_name"), str) else real.name
    name = "".join(ch for ch in name if ch.isprintable()) or real.name  # NUL or control characters in a sent name
    if real.suffix.lower() not in BULK_SUFFIXES:
        raise user_error(f"upload a .txt, .jsonl or .csv file (not {real.suffix[:10] or 'a file without a suffix'})")
    if real.stat().st_size > limits.upload_bytes:
        raise user_error(
            f"the file is larger than {limits.upload_mb} MB; split it, or run "
            "`python -m raner annotate` on your own machine for big corpora"
        )
    return real, Path(name).name


def take_upload(src: Path, folder: Path) -> Path:
    """The upload under a name of this event's own (a hard link, else a copy), its shared name removed: Gradio gives
    every visitor who uploads the same file the same path, so a job must not read, nor delete, a file another
    event may be using."""
    folder.mkdir(parents=True, exist_ok=True)
    own = folder / f"in-{secrets.token_hex(8)}{src.suffix.lower()}"
    try:
        _link_or_copy(src, own)
    except FileNotFoundError:  # on either route
        raise user_error(UPLOAD_GONE) from None
    src.unlink(missing_ok=True)
    return own


def _link_or_copy(src: Path, dst: Path) -> None:
    """A hard link, or a copy on a file system without them; FileNotFoundError when ``src`` is gone."""
    try:
        os.link(src, dst)
    except FileNotFoundError:
        raise
    except OSError:
        shutil.copyfile(src, dst)


def highlight(text: str, entities) -> list[tuple[str, str | None]]:
    """Text cut into (piece, label) pairs for HighlightedText."""
    out, pos = [], 0
    for e in entities:
        if e.start > pos:
            out.append((text[pos : e.start], None))
        out.append((text[e.start : e.end], LABELS.get(e.type, e.type)))
        pos = e.end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


def stats_markdown(result) -> str:
    counts = Counter(e.type for e in result.entities)
    timing = (
        "answered from the result cache (computed earlier)"
        if result.cached
        else f"<strong>{result.milliseconds:.1f} ms</strong> on this server"
    )
    badges = " ".join(f'<span class="rl-badge rl-{k.lower()}">{LABELS[k]} {counts.get(k, 0)}</span>' for k in LABELS)
    return (
        f'<div class="rl-stats">{badges}<br>processed <strong>{result.chars}</strong> characters · '
        f"<strong>{len(result.entities)}</strong> entities · {timing} · variant <strong>{result.variant}</strong></div>"
    )


def shown_score(score: float | None) -> str:
    """A probability with four decimals, cut rather than rounded: 0.99996 is shown as 0.9999, never as 1."""
    return "" if score is None else f"{math.floor(score * 10_000) / 10_000:.4f}"


def stored_note(service: NerService, meta: dict) -> str:
    """Where the stored figures come from, in a sentence."""
    m = meta.get("machine") or {}
    where = (
        f"on {m.get('cpu', '?')} ({m.get('cores', '?')} cores, onnxruntime {m.get('onnxruntime', '?')}), " if m else ""
    )
    when = f"measured {meta['date']} " if meta.get("date") else ""
    return (
        "F1 (4 domains): the dev splits of MSRA (news), Weibo (social media), Resume (résumés) and CLUENER (web news) "
        "together, gold mapped onto our guideline (docs/GUIDELINES.md), entity level, exact span; then each alone, and "
        "MSRA test (reported once for the shipped model). "
        f"Latency: {when}{where}one thread, one typical sentence "
        f"(about 50 characters) a call. Re-run: `python -m compression.benchmark {shown_path(service.model_path)} "
        "--data build/data/multi`"
    )


def shown_path(path: Path) -> str:
    """A model path as the user would type it: relative to the project when inside it."""
    try:
        return str(path.relative_to(Path(__file__).resolve().parent.parent))
    except ValueError:
        return str(path)


def build_ui(service: NerService) -> gr.Blocks:
    variants = service.variants
    limits = service.limits
    # Heavy events have no Gradio concurrency limit: the gate, not the queue, decides, so a job beyond its bounds
    # is turned away in milliseconds instead of waiting in the queue behind the one that runs.
    gate = Gate(limits.heavy_waiting)
    # This instance's own Bulk results, inside Gradio's upload folder (served from there without a second copy).
    bulk_home = Path(get_upload_folder()).resolve() / f"{BULK_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    color_map = {LABELS[k]: c for k, c in COLORS.items()}
    figures, meta = read_figures(service.model_path, service.manifest, service.default_variant)
    by_name = {f.name: f for f in figures}

    def ner_api(text: str, variant: str = "", user_dict: str = "") -> dict:
        """Entities in the text: {"entities": [{"text", "type", "start", "end", "score"}]}.

        variant: optional model variant. user_dict: optional lines of "词语 TYPE" forced to be entities.
        """
        try:
            return service.ner(text, variant or None, user_dict or None).to_dict()
        except RequestError as e:
            raise user_error(str(e)) from None

    def detect(text: str, variant: str, user_dict: str = ""):
        try:
            result = service.ner(text or "", variant or None, user_dict or None)
        except RequestError as e:
            raise user_error(str(e)) from None
        columns = ["文本 text", "类型 type", "start", "end", "score", "note"]
        table = pd.DataFrame(
            [
                {
                    "文本 text": e.text,
                    "类型 type": e.type,
                    "start": e.start,
                    "end": e.end,
                    "score": shown_score(e.score),
                    "note": "⚠ low" if e.score is not None and e.score < LOW_CONFIDENCE else "",
                }
                for e in result.entities
            ],
            columns=columns,
        )
        return highlight(text or "", result.entities), table, stats_markdown(result)

    def benchmark(text: str = "", repeats: int = 30, request: gr.Request = None) -> tuple:
        """Time every variant side by side on the text (one line per call; empty: the bundled samples) and report
        agreement with fp32; bounded in lines, characters, repeats and seconds."""
        texts = [t for t in (text or "").splitlines() if t.strip()] or list(sample_texts())[: limits.bench_lines]
        if len(texts) > limits.bench_lines:
            raise user_error(f"at most {limits.bench_lines} lines per benchmark (got {len(texts)})")
        chars = sum(map(len, texts))
        if chars > limits.bench_chars:
            raise user_error(f"at most {limits.bench_chars:,} characters per benchmark (got {chars:,})")
        try:
            for t in texts:
                service.check_text(t)
            repeats = int(max(3, min(int(repeats or 30), limits.bench_repeats)))
        except (RequestError, TypeError, ValueError) as e:
            raise user_error(str(e)) from None
        try:
            with gate.admit(visitor_of(request, limits.proxy_hops), "benchmark"):
                out = run_isolated(
                    "benchmark",
                    {"model": str(service.model_path), "texts": texts, "repeats": repeats, "threads": limits.threads},
                    limits.bench_seconds,
                    "benchmark",
                )
        except JobRefused as e:
            raise user_error(str(e)) from None
        reference = out["reference"]
        stored = {f.name: f for f in figures}
        rows, diffs = [], []
        for r in out["results"]:
            f = stored[r["variant"]]
            rows.append(
                {
                    "variant": shown_name(f),
                    "size (MB)": f.size_mb,
                    "ms a sentence (median)": r["median_ms"],
                    "ms a sentence (p95)": r["p95_ms"],
                    "chars/s": r["chars_per_s"],
                    "F1": f.f1,
                    f"same entities as {reference}": r["agreement"],
                }
            )
            diffs += [
                {
                    "variant": r["variant"],
                    "text #": d["text_index"],
                    "entity": d["entity"],
                    "type": d["type"],
                    "start": d["start"],
                    "end": d["end"],
                    "only in": d["only_in"],
                }
                for d in r["differences"]
            ]
        table_df = pd.DataFrame(rows)
        now = [replace(stored[r["variant"]], ms_a_sentence=r["median_ms"]) for r in out["results"]]
        raw = {
            "texts": len(texts),
            "characters": chars,
            "repeats": repeats,
            "machine": out["machine"],
            "results": rows,
            "disagreements": diffs,
        }
        diff_df = pd.DataFrame(diffs, columns=["variant", "text #", "entity", "type", "start", "end", "only in"])
        svg = scatter_html(now, "ms a sentence", "Measured now: F1 against ms a sentence")
        plot = gr.update(value=svg, visible=bool(svg))
        return (
            gr.update(value=table_df, visible=True),
            plot,
            gr.update(value=diff_df, visible=bool(diffs)),
            gr.update(visible=True),
            raw,
        )

    def bulk(payload, column: str, variant: str, fmt: str, request: gr.Request = None):
        """Annotate an uploaded file in a child process; one format out, every bound of ``limits`` applied."""
        shared, name = uploaded_file(payload, Path(get_upload_folder()).resolve(), limits)
        try:
            rec_variant = service.recognizer(variant or None).variant
        except RequestError as e:
            raise user_error(str(e)) from None
        src = take_upload(shared, bulk_home)
        try:
            return run_bulk(src, name, column, rec_variant, fmt, request)
        finally:
            src.unlink(missing_ok=True)  # the upload is read once; it does not wait for Gradio's cache clean-up

    def run_bulk(src: Path, name: str, column: str, rec_variant: str, fmt: str, request):
        """The Bulk job on this event's own copy of the upload."""
        fmt = fmt if fmt in FORMATS else "jsonl"
        column = column if isinstance(column, str) and column.strip() else "text"
        remove_old_outputs(bulk_home, limits.bulk_keep_seconds)
        job = bulk_home / f"job-{secrets.token_hex(8)}"
        budget = {
            "documents": limits.bulk_documents,
            "characters": limits.bulk_chars,
            "document_chars": limits.max_chars,
            "output_bytes": limits.bulk_output_ratio * max(src.stat().st_size, 4096),
        }
        try:  # a file over a bound is refused here, in well under a second, not after a job has started for it
            check_budget(src, column, Budget(**budget))
        except (LimitExceeded, ValueError) as e:  # a bound, an unreadable encoding, a CSV without the column
            raise user_error(f"{name}: {e}" if "column" in str(e) else str(e)) from None
        try:
            with gate.admit(visitor_of(request, limits.proxy_hops), "bulk job"):
                job.mkdir(parents=True)
                out = job / f"{Path(name).stem[:60] or 'upload'}.entities.{fmt}.zip"  # compressed on disk
                stats = run_isolated(
                    "bulk",
                    {
                        "src": str(src),
                        "out": str(out),
                        "fmt": fmt,
                        "column": column,
                        "model": str(service.model_path),
                        "variant": rec_variant,
                        "threads": limits.threads,
                        "budget": budget,
                    },
                    limits.bulk_seconds,
                    "bulk job",
                )
        except JobRefused as e:
            shutil.rmtree(job, ignore_errors=True)
            raise user_error(f"{name}: {e}" if "column" in str(e) else str(e)) from None
        counts = " · ".join(f"{LABELS.get(k, k)} {v}" for k, v in sorted(stats["entities"].items())) or "no entities"
        skipped = ""
        if stats["skipped"]:
            shown = "; ".join(f"line {e['line']}: {e['error']}" for e in stats["errors"][:5])
            skipped = f"  \n⚠ **{stats['skipped']}** lines skipped ({shown}{' …' if stats['skipped'] > 5 else ''})"
        summary = (
            f"**{stats['documents']}** documents · **{stats['characters']:,}** characters · {counts} · "
            f"{stats['seconds']:.2f} s ({stats['chars_per_s']:,} chars/s), variant {rec_variant}{skipped}"
        )
        return [str(out)], summary

    atexit.register(shutil.rmtree, bulk_home, True)
    # Gradio deletes the uploads and cached files of this app older than the keep time, every five minutes.
    with gr.Blocks(title="raner-lite · Chinese NER", delete_cache=(300, limits.bulk_keep_seconds)) as demo:
        gr.HTML(header_html(by_name[service.default_variant], meta["machine"]))
        with gr.Tabs():
            with gr.Tab("实体侦测 · Detect", id="detect"):
                with gr.Row(elem_classes=["rl-row"]):
                    with gr.Column(scale=3):
                        text = gr.Textbox(
                            label="输入文本 · Text",
                            lines=5,
                            max_lines=20,
                            elem_id="rl-input",
                            placeholder="输入中文文本，例如：马云在杭州阿里巴巴总部发表演讲",
                        )
                    with gr.Column(scale=1, min_width=200):
                        variant = gr.Dropdown(variants, value=variants[0], label="模型 · Variant", elem_id="rl-variant")
                        run = gr.Button("侦测 Detect", variant="primary", elem_id="rl-run")
                with gr.Accordion("用户词典 · User dictionary", open=False):
                    user_dict = gr.Textbox(
                        label="One entry per line: 词语 TYPE (PER, LOC or ORG); these always win",
                        lines=3,
                        placeholder="字节跳动 ORG\n梁汝波 PER",
                        elem_id="rl-user-dict",
                    )
                gr.Examples(example_texts(), inputs=text, label="示例 · Examples")
                highlighted = gr.HighlightedText(
                    label="实体 · Entities",
                    color_map=color_map,
                    show_legend=True,
                    combine_adjacent=False,
                    elem_id="rl-highlight",
                )
                stats = gr.HTML(elem_id="rl-stats")
                table = gr.Dataframe(
                    label="实体列表 · Entity table (score: probability of exactly this entity)",
                    interactive=False,
                    wrap=True,
                    elem_id="rl-table",
                )
                outputs = [highlighted, table, stats]
                for event, kwargs in (
                    (text.change, {"trigger_mode": "always_last", "show_progress": "hidden"}),
                    (text.submit, {}),
                    (run.click, {}),
                    (variant.change, {}),
                    (user_dict.change, {"trigger_mode": "always_last", "show_progress": "hidden"}),
                ):
                    event(detect, [text, variant, user_dict], outputs, api_visibility="private", **kwargs)
            with gr.Tab("批量标注 · Bulk", id="bulk"):
                gr.Markdown(
                    'Upload a `.txt` (one document per line), `.jsonl` (`{"text": ...}` per line) or `.csv` '
                    f"file of at most {limits.upload_mb} MB and {limits.bulk_chars:,} characters "
                    f"(documents of at most {limits.max_chars:,}); download the entities as JSONL, CSV or "
                    "CoNLL, zipped. Lines that cannot be read are skipped and listed. Results are kept "
                    f"{limits.bulk_keep_seconds // 60} minutes."
                )
                with gr.Row(elem_classes=["rl-row"]):
                    upload = gr.File(label="文件 · File", file_types=list(BULK_SUFFIXES), elem_id="rl-upload")
                    with gr.Column():
                        column = gr.Textbox(value="text", label="CSV text column", elem_id="rl-column")
                        bulk_variant = gr.Dropdown(variants, value=variants[0], label="模型 · Variant")
                        bulk_format = gr.Radio(
                            list(FORMATS), value="jsonl", label="输出 · Output format", elem_id="rl-format"
                        )
                        bulk_run = gr.Button("标注 Annotate", variant="primary", elem_id="rl-bulk-run")
                bulk_files = gr.File(label="下载 · Downloads", file_count="multiple", elem_id="rl-downloads")
                bulk_summary = gr.Markdown(elem_id="rl-bulk-summary")
                # preprocess=False: the handler sees the client's FileData as sent and checks its path itself
                # (mounted apps skip Gradio's own upload-folder check; see docs/RELIABILITY.md).
                bulk_run.click(
                    bulk,
                    [upload, column, bulk_variant, bulk_format],
                    [bulk_files, bulk_summary],
                    api_visibility="private",
                    preprocess=False,
                    concurrency_limit=None,
                )
            with gr.Tab("压缩对比 · Compression", id="compression"):
                gr.HTML(cards_html(figures), elem_id="rl-cards")
                with gr.Row(elem_classes=["rl-row"]):
                    for cost, what in (("ms a sentence", "latency"), ("size (MB)", "size")):
                        plot = scatter_html(figures, cost, f"F1 against {what}: up and left is better")
                        if plot:  # no empty box: a model without stored figures shows none
                            gr.HTML(plot, elem_id=f"rl-f1-{what}", elem_classes=["rl-plot"])
                gr.Dataframe(
                    variant_table(figures),
                    interactive=False,
                    wrap=True,
                    elem_id="rl-stored",
                    label="已测数据 · Stored measurements",
                )
                gr.Markdown(stored_note(service, meta))
                gr.Markdown(guide_markdown(figures), elem_id="rl-guide")
                gr.Markdown("### 实时基准 · Live benchmark on this machine")
                with gr.Row(elem_classes=["rl-row"]):
                    bench_text = gr.Textbox(
                        value="",
                        label=f"Texts, one per line (at most {limits.bench_lines}; empty: our sample sentences)",
                        lines=3,
                        elem_id="rl-bench-text",
                    )
                    repeats = gr.Slider(
                        3, limits.bench_repeats, value=20, step=1, label="Repeats", elem_id="rl-repeats"
                    )
                bench_run = gr.Button("运行基准 Run live benchmark", variant="primary", elem_id="rl-bench-run")
                bench_table = gr.Dataframe(
                    label="Side by side: each text one call, as the app calls",
                    interactive=False,
                    wrap=True,
                    visible=False,
                    elem_id="rl-bench-table",
                )
                live_plot = gr.HTML(visible=False, elem_id="rl-live-plot", elem_classes=["rl-plot"])
                diff_table = gr.Dataframe(
                    label="Entities a variant finds differently from fp32",
                    interactive=False,
                    visible=False,
                    elem_id="rl-diffs",
                )
                with gr.Accordion("benchmark JSON", open=False, visible=False) as raw_box:
                    raw = gr.JSON(label="benchmark JSON")
                bench_run.click(
                    benchmark,
                    [bench_text, repeats],
                    [bench_table, live_plot, diff_table, raw_box, raw],
                    api_name="benchmark",
                    concurrency_limit=None,
                )
        gr.api(ner_api, api_name="ner")
    return demo
