"""The Gradio Blocks UI: a detect tab (实体侦测) and a compression benchmark tab (压缩对比)."""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from collections import Counter

import gradio as gr
import pandas as pd

from raner.annotate import FORMATS, annotate
from raner.benchmark import agreement, machine_info, time_variants
from theme import COLORS, LABELS

from .samples import example_texts, sample_texts
from .service import NerService, RequestError

BULK_LIMIT_MB = 20
LOW_CONFIDENCE = 0.6  # entities below this probability are marked in the table
BULK_PREFIX = "raner-bulk-"
BULK_KEEP_SECONDS = 3600  # bulk results are downloadable for an hour, then removed by a later bulk run

HEADER = """<div id="rl-header"><h1>RANER<span class="cyan">//</span>LITE</h1>
<p>中文命名实体识别 · 人名 PER · 地名 LOC · 机构名 ORG — compressed to run in about a millisecond on a plain CPU</p></div>"""


def remove_old_outputs(folder: Path, max_age: float = BULK_KEEP_SECONDS) -> int:
    """Delete bulk-tab output folders older than ``max_age`` seconds (Gradio serves them only after the
    handler returns, so a handler cannot delete its own); returns how many were removed."""
    removed = 0
    for old in folder.glob(BULK_PREFIX + "*"):
        try:
            if old.is_dir() and time.time() - old.stat().st_mtime > max_age:
                shutil.rmtree(old)
                removed += 1
        except OSError:  # another worker removed it first, or it is not ours to remove
            continue
    return removed


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
    badges = " ".join(f'<span class="rl-badge rl-{k.lower()}">{LABELS[k]} {counts.get(k, 0)}</span>' for k in LABELS)
    return (f'<div class="rl-stats">{badges}<br>processed <strong>{result.chars}</strong> characters · '
            f'<strong>{len(result.entities)}</strong> entities · <strong>{result.milliseconds:.2f} ms</strong> '
            f'· variant <strong>{result.variant}</strong></div>')


def variant_rows(service: NerService) -> pd.DataFrame:
    """Stored figures of every variant, from benchmark.json where present, else the manifest."""
    bench_path = service.model_path / "benchmark.json"
    bench = json.loads(bench_path.read_text(encoding="utf-8")) if bench_path.is_file() else {}
    rows = []
    for name, v in service.manifest.variants.items():
        test = v.metrics.get("test", {})
        b = bench.get("variants", {}).get(name, {})
        lat = b.get("latency", {}).get("typical", {}).get("threads_1", {})
        rows.append({
            "variant": name, "size (MB)": round(v.size_bytes / 1e6, 2), "parameters": v.parameters,
            "test F1": test.get("overall", {}).get("f1"), "PER F1": test.get("PER", {}).get("f1"),
            "LOC F1": test.get("LOC", {}).get("f1"), "ORG F1": test.get("ORG", {}).get("f1"),
            "typical latency (ms)": lat.get("median_ms"), "throughput (chars/s)": b.get("throughput_chars_per_s"),
        })
    return pd.DataFrame(rows)


def stored_note(service: NerService) -> str:
    bench_path = service.model_path / "benchmark.json"
    if bench_path.is_file():
        b = json.loads(bench_path.read_text(encoding="utf-8"))
        m = b.get("machine", {})
        return (f"Stored figures measured {b.get('date', '?')} on {m.get('cpu', '?')} ({m.get('cores', '?')} cores, "
                f"onnxruntime {m.get('onnxruntime', '?')}); F1 on MSRA test.txt. Re-run: `python -m compression.benchmark {shown_path(service.model_path)}`")
    return "F1 from the model's manifest (MSRA test.txt). Latency: run the live benchmark below."


def shown_path(path: Path) -> str:
    """A model path as the user would type it: relative to the project when inside it."""
    try:
        return str(path.relative_to(Path(__file__).resolve().parent.parent))
    except ValueError:
        return str(path)


def build_ui(service: NerService) -> gr.Blocks:
    variants = service.variants
    color_map = {LABELS[k]: c for k, c in COLORS.items()}

    def ner_api(text: str, variant: str = "", user_dict: str = "") -> dict:
        """Entities in the text: {"entities": [{"text", "type", "start", "end", "score"}]}.

        variant: optional model variant. user_dict: optional lines of "词语 TYPE" forced to be entities.
        """
        try:
            return service.ner(text, variant or None, user_dict or None).to_dict()
        except RequestError as e:
            raise gr.Error(str(e)) from None

    def detect(text: str, variant: str, user_dict: str = ""):
        try:
            result = service.ner(text or "", variant or None, user_dict or None)
        except RequestError as e:
            raise gr.Error(str(e)) from None
        columns = ["文本 text", "类型 type", "start", "end", "置信度 score", "note"]
        table = pd.DataFrame([{"文本 text": e.text, "类型 type": LABELS.get(e.type, e.type), "start": e.start, "end": e.end,
                               "置信度 score": round(e.score, 3) if e.score is not None else None,
                               "note": "⚠ low confidence" if e.score is not None and e.score < LOW_CONFIDENCE else ""}
                              for e in result.entities], columns=columns)
        return highlight(text or "", result.entities), table, stats_markdown(result)

    def benchmark(text: str = "", repeats: int = 30, progress=gr.Progress()) -> tuple:
        """Time every variant side by side on the text (or the bundled samples); report agreement with fp32."""
        texts = [t for t in (text or "").splitlines() if t.strip()] or list(sample_texts())
        try:
            for t in texts:
                service.check_text(t)
        except RequestError as e:
            raise gr.Error(str(e)) from None
        repeats = int(max(3, min(int(repeats or 30), 500)))
        progress(0.0, desc="warming up")
        timings = time_variants(service.recognizers, texts, repeats=repeats, warmup=3,
                                progress=lambda f, msg: progress(f, desc=msg))
        reference = service.recognizers.get("fp32") or service.recognizers[variants[-1]]
        rows, diffs = [], []
        for t in timings:
            v = service.manifest.variants[t.variant]
            agree = agreement(reference, service.recognizers[t.variant], texts)
            f1 = v.metrics.get("test", {}).get("overall", {}).get("f1")
            rows.append({"variant": t.variant, "size (MB)": round(v.size_bytes / 1e6, 2), "median (ms)": t.median_ms,
                         "p95 (ms)": t.p95_ms, "chars/s": round(t.chars / (t.median_ms / 1000)) if t.median_ms else None,
                         "test F1": f1, f"agreement with {reference.variant}": agree["agreement"]})
            diffs += [{"variant": t.variant, "text #": d["text_index"], "entity": d["entity"], "type": d["type"],
                       "start": d["start"], "end": d["end"], "only in": d["only_in"]} for d in agree["differences"]]
        table = pd.DataFrame(rows)

        def bars(column: str, top: float | None = None) -> gr.BarPlot:
            values = table[["variant", column]].fillna(0)
            return gr.BarPlot(values, y_lim=[0, top or float(values[column].max()) * 1.15 or 1.0])
        raw = {"texts": len(texts), "characters": sum(map(len, texts)), "repeats": repeats,
               "machine": machine_info(), "results": rows, "disagreements": diffs}
        diff_df = pd.DataFrame(diffs, columns=["variant", "text #", "entity", "type", "start", "end", "only in"])
        return table, bars("size (MB)"), bars("median (ms)"), bars("test F1", 1.0), diff_df, raw

    def bulk(path, column: str, variant: str, progress=gr.Progress()):
        if not path:
            raise gr.Error("upload a .txt, .jsonl or .csv file first")
        src = Path(path)
        if src.stat().st_size > BULK_LIMIT_MB * 1_000_000:
            raise gr.Error(f"file is larger than {BULK_LIMIT_MB} MB; use `python -m raner annotate` for big corpora")
        try:
            rec = service.recognizer(variant or None)
        except RequestError as e:
            raise gr.Error(str(e)) from None
        remove_old_outputs(Path(tempfile.gettempdir()))
        out_dir = Path(tempfile.mkdtemp(prefix=BULK_PREFIX))
        outputs = {fmt: out_dir / f"{src.stem}.entities.{fmt}" for fmt in FORMATS}
        try:
            stats = annotate(src, outputs, recognizer=rec, column=column or "text", progress=False,
                             callback=lambda docs, chars: progress(None, desc=f"{docs} documents"))
        except (ValueError, UnicodeDecodeError) as e:
            raise gr.Error(f"cannot read {src.name}: {e}") from None
        counts = " · ".join(f"{LABELS.get(k, k)} {v}" for k, v in sorted(stats["entities"].items())) or "no entities"
        summary = (f"**{stats['documents']}** documents · **{stats['characters']:,}** characters · {counts} · "
                   f"{stats['seconds']:.2f} s ({stats['chars_per_s']:,} chars/s), variant {rec.variant}")
        return [str(p) for p in outputs.values()], summary

    with gr.Blocks(title="raner-lite · Chinese NER") as demo:
        gr.HTML(HEADER)
        with gr.Tabs():
            with gr.Tab("实体侦测 · Detect", id="detect"):
                with gr.Row(elem_classes=["rl-row"]):
                    with gr.Column(scale=3):
                        text = gr.Textbox(label="输入文本 · Text", lines=5, max_lines=20, elem_id="rl-input",
                                          placeholder="输入中文文本，例如：马云在杭州阿里巴巴总部发表演讲")
                    with gr.Column(scale=1, min_width=200):
                        variant = gr.Dropdown(variants, value=variants[0], label="模型 · Variant", elem_id="rl-variant")
                        run = gr.Button("侦测 Detect", variant="primary", elem_id="rl-run")
                with gr.Accordion("用户词典 · User dictionary", open=False):
                    user_dict = gr.Textbox(label="One entry per line: 词语 TYPE (PER, LOC or ORG); these always win",
                                           lines=3, placeholder="字节跳动 ORG\n梁汝波 PER", elem_id="rl-user-dict")
                gr.Examples(example_texts(), inputs=text, label="示例 · Examples")
                highlighted = gr.HighlightedText(label="实体 · Entities", color_map=color_map, show_legend=True,
                                                 combine_adjacent=False, elem_id="rl-highlight")
                stats = gr.HTML(elem_id="rl-stats")
                table = gr.Dataframe(label="实体列表 · Entity table", interactive=False, elem_id="rl-table")
                outputs = [highlighted, table, stats]
                for event, kwargs in ((text.change, {"trigger_mode": "always_last", "show_progress": "hidden"}),
                                      (text.submit, {}), (run.click, {}), (variant.change, {}), (user_dict.submit, {})):
                    event(detect, [text, variant, user_dict], outputs, api_visibility="private", **kwargs)
            with gr.Tab("批量标注 · Bulk", id="bulk"):
                gr.Markdown("Upload a `.txt` (one document per line), `.jsonl` (`{\"text\": ...}` per line) or `.csv` "
                            f"file of at most {BULK_LIMIT_MB} MB; download the entities as JSONL, CSV and CoNLL.")
                with gr.Row(elem_classes=["rl-row"]):
                    upload = gr.File(label="文件 · File", file_types=[".txt", ".jsonl", ".csv"], elem_id="rl-upload")
                    with gr.Column():
                        column = gr.Textbox(value="text", label="CSV text column", elem_id="rl-column")
                        bulk_variant = gr.Dropdown(variants, value=variants[0], label="模型 · Variant")
                        bulk_run = gr.Button("标注 Annotate", variant="primary", elem_id="rl-bulk-run")
                bulk_files = gr.File(label="下载 · Downloads", file_count="multiple", elem_id="rl-downloads")
                bulk_summary = gr.Markdown(elem_id="rl-bulk-summary")
                bulk_run.click(bulk, [upload, column, bulk_variant], [bulk_files, bulk_summary], api_visibility="private",
                               concurrency_limit=1)
            with gr.Tab("压缩对比 · Compression", id="compression"):
                gr.Markdown("### 已测数据 · Stored measurements")
                gr.Dataframe(variant_rows(service), interactive=False, elem_id="rl-stored")
                gr.Markdown(stored_note(service))
                gr.Markdown("### 实时基准 · Live benchmark on this machine")
                with gr.Row(elem_classes=["rl-row"]):
                    bench_text = gr.Textbox(label="Text (one per line; empty: the bundled sample sentences)", lines=3,
                                            elem_id="rl-bench-text")
                    repeats = gr.Slider(3, 300, value=30, step=1, label="Repeats", elem_id="rl-repeats")
                bench_run = gr.Button("运行基准 Run live benchmark", variant="primary", elem_id="rl-bench-run")
                bench_table = gr.Dataframe(label="Side by side", interactive=False, elem_id="rl-bench-table")
                with gr.Row(elem_classes=["rl-row"]):
                    size_plot = gr.BarPlot(x="variant", y="size (MB)", title="Size (MB)", elem_id="rl-size-plot")
                    lat_plot = gr.BarPlot(x="variant", y="median (ms)", title="Median latency (ms)", elem_id="rl-lat-plot")
                    f1_plot = gr.BarPlot(x="variant", y="test F1", title="Test F1", elem_id="rl-f1-plot")
                diff_table = gr.Dataframe(label="Disagreements with fp32", interactive=False, elem_id="rl-diffs")
                with gr.Accordion("JSON", open=False):
                    raw = gr.JSON()
                bench_run.click(benchmark, [bench_text, repeats], [bench_table, size_plot, lat_plot, f1_plot, diff_table, raw],
                                api_name="benchmark", concurrency_limit=1)
        gr.api(ner_api, api_name="ner")
    return demo
