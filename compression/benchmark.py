"""Measure every variant of a model directory side by side and write benchmark.json + BENCHMARKS.md.

python -m compression.benchmark models/multi-base [--data build/data/multi] [--repeats 300]

Ratios against fp32 from the same run are the headline; absolute times are this machine's.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import raner
from raner.benchmark import agreement, machine_info, time_variants
from raner.markup import read_marked_file
from raner.spans import tags_to_spans

from .data import DEFAULT_DATA, read_conll
from .invocation import invocation
from .scoring import evaluate

ROOT = Path(__file__).resolve().parent.parent
LENGTHS = {"short": 15, "typical": 50, "long": 200}
ALONE_BLOCK = 50  # consecutive calls of one form when each variant is timed alone
# Peak RSS is this process's VmHWM: ru_maxrss of a child can carry over its parent's high-water mark.
COLD_START = """
import resource, sys, time
t0 = time.perf_counter()
import raner
rec = raner.load(sys.argv[1], variant=sys.argv[2])
rec.predict(sys.argv[3])
t1 = time.perf_counter()
try:
    hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
except (OSError, StopIteration):
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(t1 - t0, hwm)
"""


def pick_sentences(data: Path | None) -> dict[str, str]:
    """One dev sentence near each target length (dev, never test); the project's samples without data."""
    pool = [s.text for s in read_conll(data / "dev.txt")] if data and (data / "dev.txt").is_file() else []
    if not pool:
        samples = [t for t, _ in read_marked_file(ROOT / "samples" / "news.txt")]
        pool = samples + ["".join(samples[i : i + 6]) for i in range(0, len(samples), 6)]
    out = {}
    for name, n in LENGTHS.items():
        out[name] = min(pool, key=lambda t: (abs(len(t) - n), t))
    return out


def cold_start(model: Path, variant: str, text: str, runs: int = 3) -> dict:
    """Fresh-process wall time from interpreter start to the first prediction, and peak RSS (medians)."""
    walls, inner, rss = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", COLD_START, str(model), variant, text], capture_output=True,
                             text=True, check=True, cwd=ROOT)
        walls.append(time.perf_counter() - t0)
        load_s, maxrss_kb = out.stdout.split()
        inner.append(float(load_s))
        rss.append(int(maxrss_kb) / 1024)
    return {"process_seconds": round(statistics.median(walls), 3),
            "import_load_predict_seconds": round(statistics.median(inner), 3),
            "peak_rss_mb": round(statistics.median(rss), 1)}


def cache_workload(rec: raner.Recognizer, texts: list[str], requests: int = 5000, seed: int = 0) -> dict:
    """A repeated workload (Zipf-like popularity over texts): hit rate and time with and without the result cache."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) ** 1.1 for i in range(len(texts))]
    stream = rng.choices(texts, weights=weights, k=requests)
    out = {}
    for label, size in (("no_cache", 0), ("lru_1024", 1024)):
        r = rec.with_options(cache_size=size)
        t0 = time.perf_counter()
        for t in stream:
            r.predict(t)
        out[label] = {"seconds": round(time.perf_counter() - t0, 3)}
        if size:
            out[label]["hit_rate"] = round(r.cache_info()["hit_rate"], 4)
    out["requests"], out["distinct_texts"] = requests, len(set(stream))
    out["speedup"] = round(out["no_cache"]["seconds"] / out["lru_1024"]["seconds"], 2)
    return out


def calibration(rec: raner.Recognizer, sentences, bins: int = 10) -> dict:
    """Expected calibration error of entity scores: is an entity with score p right p of the time? (dev set)."""
    scored = rec.with_options(cache_size=0, scores=True)
    pairs = []
    for s, ents in zip(sentences, scored.predict_batch([s.text for s in sentences])):
        gold = set(tags_to_spans(s.tags))
        pairs += [(e.score, (e.type, e.start, e.end) in gold) for e in ents]
    table, ece = [], 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(p, ok) for p, ok in pairs if lo < p <= hi or (b == 0 and p == 0)]
        if not inside:
            continue
        conf = sum(p for p, _ in inside) / len(inside)
        acc = sum(ok for _, ok in inside) / len(inside)
        ece += abs(acc - conf) * len(inside) / len(pairs)
        table.append({"bin": [round(lo, 2), round(hi, 2)], "count": len(inside), "confidence": round(conf, 4),
                      "accuracy": round(acc, 4)})
    return {"variant": rec.variant, "entities": len(pairs), "ece": round(ece, 4), "bins": table}


def run(model: Path, data: Path | None, repeats: int, cache_requests: int = 5000, cold_runs: int = 3,
        test: bool = False) -> dict:
    """Sizes, latencies, cold starts and (with ``data``) the cache workload and calibration on dev; F1, agreement and
    throughput on the reserved test split only with ``test``, for a model directory that ships (never a candidate)."""
    base = raner.load(model, cache_size=0)
    names = list(base.variants)
    manifest = base.manifest
    result = {"model": manifest.name, "date": dt.datetime.now().isoformat(timespec="seconds"),
              "machine": machine_info(), "repeats": repeats, "data": str(data) if data else None, "sentences": {},
              "variants": {n: {} for n in names}}
    sentences = pick_sentences(data)
    result["sentences"] = {k: {"chars": len(v), "text": v} for k, v in sentences.items()}
    for name in names:
        v = manifest.variants[name]
        size = (model / v.file).stat().st_size
        result["variants"][name].update({"file": v.file, "size_bytes": size, "parameters": v.parameters})
    for threads in (1, 2):
        recs = {n: raner.load(model, n, threads=threads, cache_size=0) for n in names}
        for label, text in sentences.items():
            print(f"latency: {label} ({len(text)} chars), {threads} thread(s)", flush=True)
            for t in time_variants(recs, [text], repeats=repeats, warmup=20):
                result["variants"][t.variant].setdefault("latency", {}).setdefault(label, {})[f"threads_{threads}"] = {
                    "median_ms": t.median_ms, "p95_ms": t.p95_ms}
        if threads == 1:  # as a server running one variant sees it: no other variant's tables evict its own
            print("latency: typical, each variant alone, without and with entity scores (as the app calls it), "
                  "1 thread", flush=True)
            for name in names:  # the two forms of one variant in alternating blocks: each runs as if alone (a
                # scored call's forward-backward between plain calls would evict their tables), the same machine noise
                forms = {"alone_threads_1": recs[name], "alone_scores_threads_1": recs[name].with_options(scores=True)}
                for t in time_variants(forms, [sentences["typical"]], repeats=repeats, warmup=100, block=ALONE_BLOCK):
                    result["variants"][name]["latency"]["typical"][t.variant] = {
                        "median_ms": t.median_ms, "p95_ms": t.p95_ms}
    reserved = read_conll(data / "test.txt") if test and data and (data / "test.txt").is_file() else None
    if reserved:
        texts = [s.text for s in reserved]
        ref = raner.load(model, "fp32" if "fp32" in names else names[-1], cache_size=0)
        for name in names:
            rec = raner.load(model, name, cache_size=0, batch_size=64)
            print(f"test F1 and throughput: {name}", flush=True)
            result["variants"][name]["test"] = evaluate(rec, reserved)
            t0 = time.perf_counter()
            rec.predict_batch(texts)
            secs = time.perf_counter() - t0
            result["variants"][name]["throughput_chars_per_s"] = round(sum(map(len, texts)) / secs)
            agree = agreement(ref, rec, texts)
            result["variants"][name]["agreement_with_fp32"] = agree["agreement"]
    if data and (data / "dev.txt").is_file():
        dev = read_conll(data / "dev.txt")
        result["cache"] = cache_workload(raner.load(model, cache_size=0), [s.text for s in dev], cache_requests)
        print("calibration on dev", flush=True)
        result["calibration"] = calibration(raner.load(model, cache_size=0), dev)
    for name in names:
        print(f"cold start: {name}", flush=True)
        result["variants"][name]["cold_start"] = cold_start(model, name, sentences["typical"], cold_runs)
    result["ratios_vs_fp32"] = ratios(result)
    return result


def ratios(result: dict) -> dict:
    v = result["variants"]
    if "fp32" not in v:
        return {}
    ref = v["fp32"]
    out = {}
    for name, r in v.items():
        lat = r["latency"]["typical"]["threads_1"]["median_ms"]
        ref_lat = ref["latency"]["typical"]["threads_1"]["median_ms"]
        out[name] = {"size": round(r["size_bytes"] / ref["size_bytes"], 4), "typical_latency": round(lat / ref_lat, 3)}
        alone = r["latency"]["typical"].get("alone_threads_1")
        ref_alone = ref["latency"]["typical"].get("alone_threads_1")
        if alone and ref_alone:
            out[name]["typical_latency_alone"] = round(alone["median_ms"] / ref_alone["median_ms"], 3)
        if "test" in r:
            out[name]["f1_change_points"] = round(100 * (r["test"]["overall"]["f1"] - ref["test"]["overall"]["f1"]), 2)
    return out


def plots(result: dict, folder: Path) -> list[str]:
    """Bar charts of size, typical latency and test F1 per variant (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    names = list(result["variants"])
    series = {
        "size": ("size on disk (MB)", [result["variants"][n]["size_bytes"] / 1e6 for n in names]),
        "latency": ("typical sentence, 1 thread, median (ms)",
                    [result["variants"][n]["latency"]["typical"]["threads_1"]["median_ms"] for n in names]),
    }
    if all("test" in result["variants"][n] for n in names):
        series["f1"] = ("test F1", [result["variants"][n]["test"]["overall"]["f1"] for n in names])
    files = []
    if "calibration" in result:
        bins = result["calibration"]["bins"]
        fig, ax = plt.subplots(figsize=(4, 3.2), dpi=110)
        fig.patch.set_facecolor("#07060d")
        ax.set_facecolor("#0e0c18")
        ax.plot([0, 1], [0, 1], color="#555", linestyle="--", linewidth=1)
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", color="#00e5ff")
        ax.set_title(f"reliability on dev (ECE {result['calibration']['ece']:.3f})", color="#e8e6f0", fontsize=10)
        ax.set_xlabel("entity score", color="#e8e6f0", fontsize=8)
        ax.set_ylabel("share correct", color="#e8e6f0", fontsize=8)
        ax.tick_params(colors="#e8e6f0", labelsize=8)
        fig.tight_layout()
        path = folder / f"{result['model']}-calibration.png"
        fig.savefig(path, facecolor=fig.get_facecolor())
        plt.close(fig)
        files.append(path.name)
    for key, (title, values) in series.items():
        fig, ax = plt.subplots(figsize=(5, 3), dpi=110)
        fig.patch.set_facecolor("#07060d")
        ax.set_facecolor("#0e0c18")
        ax.bar(names, values, color=["#ff2bd6", "#00e5ff", "#ffe600", "#7a2bff", "#39ff14"][: len(names)])
        ax.set_title(title, color="#e8e6f0", fontsize=10)
        ax.tick_params(colors="#e8e6f0", labelsize=8)
        if key == "f1":
            ax.set_ylim(min(values) - 0.02, min(1.0, max(values) + 0.01))
        for i, val in enumerate(values):
            ax.text(i, val, f"{val:.3g}", ha="center", va="bottom", color="#e8e6f0", fontsize=8)
        fig.tight_layout()
        path = folder / f"{result['model']}-{key}.png"
        fig.savefig(path, facecolor=fig.get_facecolor())
        plt.close(fig)
        files.append(path.name)
    return files


def markdown(result: dict, plot_dir: str, plot_files: list[str]) -> str:
    m = result["machine"]
    f1_note = (f"F1: entity-level exact match on `{result.get('data')}/test.txt`."
               if any("test" in r for r in result["variants"].values())
               else "No F1 (the reserved test split is scored only with `--test`, for the model that ships).")
    lines = [f"# Benchmarks: {result['model']}", "",
             f"Measured {result['date']} on {m['cpu']} ({m['cores']} cores), onnxruntime {m['onnxruntime']}, "
             f"Python {m['python']}, by `{result['command']}`. "
             "Latency is end to end through `raner` (normalization, features, ONNX Runtime, Viterbi), "
             f"median and p95 of {result['repeats']} repeats after warm-up, variants interleaved in one run (each "
             "call follows the other variants' calls, whose tables push its own out of the CPU caches); *alone*: "
             "each variant timed by itself, as a server running only that variant sees it, without and with entity "
             f"scores (the app asks for scores: the CRF's forward-backward on top of decoding) in alternating blocks "
             f"of {ALONE_BLOCK} calls. " + f1_note, "",
             "| variant | size (MB) | params | test F1 | PER | LOC | ORG | agreement w/ fp32 | short ms (1t) "
             "| typical ms (1t / 2t) | typical ms alone (1t; plain / scores) | p95 typical (1t) | long ms (1t) "
             "| chars/s (batched) | cold start (s) | peak RSS (MB) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in result["variants"].items():
        lat = r["latency"]
        t = r.get("test", {})

        def f(k: str, t: dict = t) -> str:
            return f"{t[k]['f1']:.4f}" if k in t else "–"

        alone = " / ".join(f"{lat['typical'][k]['median_ms']:.3f}" if k in lat["typical"] else "–"
                           for k in ("alone_threads_1", "alone_scores_threads_1"))

        lines.append(
            f"| {name} | {r['size_bytes'] / 1e6:.2f} | {r['parameters']:,} | "
            f"{f('overall')} | {f('PER')} | {f('LOC')} | {f('ORG')} | "
            f"{r.get('agreement_with_fp32', '–')} | {lat['short']['threads_1']['median_ms']:.3f} | "
            f"{lat['typical']['threads_1']['median_ms']:.3f} / {lat['typical']['threads_2']['median_ms']:.3f} | "
            f"{alone} | {lat['typical']['threads_1']['p95_ms']:.3f} | {lat['long']['threads_1']['median_ms']:.3f} | "
            f"{r.get('throughput_chars_per_s', '–')} | {r['cold_start']['process_seconds']} | "
            f"{r['cold_start']['peak_rss_mb']} |")
    s = result["sentences"]
    lines += ["", f"Sentence lengths: short {s['short']['chars']}, typical {s['typical']['chars']}, "
              f"long {s['long']['chars']} characters (from dev.txt).", "",
              "Ratios against fp32 (same run):", "",
              "| variant | size | typical latency (interleaved) | typical latency (alone) | F1 change (points) |",
              "|---|---:|---:|---:|---:|"]
    for name, r in result["ratios_vs_fp32"].items():
        lines.append(f"| {name} | {r['size']:.3f} | {r['typical_latency']:.3f} | "
                     f"{r.get('typical_latency_alone', '–')} | {r.get('f1_change_points', '–')} |")
    if "cache" in result:
        c = result["cache"]
        lines += ["", f"Result cache (LRU, 1024 entries) on {c['requests']} requests drawn Zipf-like from dev "
                  f"sentences ({c['distinct_texts']} distinct): hit rate {c['lru_1024']['hit_rate']:.1%}, "
                  f"{c['no_cache']['seconds']} s without cache vs {c['lru_1024']['seconds']} s with it "
                  f"({c['speedup']}x)."]
    if "calibration" in result:
        c = result["calibration"]
        lines += ["", "Entity scores (`scores=True`: the CRF probability of exactly that span and type), "
                  f"{c['variant']} on dev: "
                  f"{c['entities']} predicted entities, expected calibration error **{c['ece']:.4f}** (10 bins).", "",
                  "| score bin | entities | mean score | share correct |", "|---|---:|---:|---:|"]
        lines += [f"| {b['bin'][0]}–{b['bin'][1]} | {b['count']} | {b['confidence']} | {b['accuracy']} |"
                  for b in c["bins"]]
    lines += [""] + [f"![{p}]({plot_dir}/{p})" for p in plot_files]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, nargs="?", default=raner.DEFAULT_MODEL)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with dev.txt and test.txt (optional)")
    ap.add_argument("--repeats", type=int, default=300)
    ap.add_argument("--cache-requests", type=int, default=5000, help="requests in the result-cache workload")
    ap.add_argument("--cold-runs", type=int, default=3, help="fresh processes per variant for cold start and RSS")
    ap.add_argument("--report", type=Path, default=ROOT / "BENCHMARKS.md", help="markdown report to write")
    ap.add_argument("--test", action="store_true",
                    help="also F1, agreement and throughput on DATA/test.txt: a reserved split, only for the model "
                         "directory that ships, never while candidates are compared")
    args = ap.parse_args(argv)
    data = args.data if args.data and args.data.is_dir() else None
    result = run(args.model, data, args.repeats, args.cache_requests, args.cold_runs, test=args.test)
    result["command"] = invocation("compression.benchmark", argv)
    report = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    (args.model / "benchmark.json").write_text(report, encoding="utf-8")
    plot_dir = args.report.parent / "docs" / "plots"
    files = plots(result, plot_dir)
    args.report.write_text(markdown(result, str(plot_dir.relative_to(args.report.parent)), files), encoding="utf-8")
    print(f"wrote {args.model / 'benchmark.json'} and {args.report}")


if __name__ == "__main__":
    main()
