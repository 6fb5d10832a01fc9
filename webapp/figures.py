"""The stored figures of a model's variants, shaped for people: the compression tab's cards, table and plots.

Everything comes from the model directory (manifest.json for size, parameters and F1; benchmark.json for the
measured latency), so the tab shows what was measured, with when and where, and nothing before it was.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .scatter import Point, pareto_front, scatter_svg

REFERENCE = "fp32"  # the single network in float32: what every compressed variant is compared with
# Per-domain F1 columns: each corpus's selection split (manifest metrics ``dev.<corpus>``), named by what it holds.
DOMAINS = {"dev.msra": "news", "dev.weibo": "social media", "dev.resume": "résumés", "dev.cluener": "web news"}


@dataclass(frozen=True)
class VariantFigures:
    """One variant as the tab shows it."""

    name: str
    default: bool
    what: str
    size_mb: float
    parameters_m: float
    ms_a_sentence: float | None  # median, one typical sentence (about 50 characters) a call, 1 thread
    f1: float | None  # the four corpora's dev splits together (news, social media, résumés, web news), exact span
    f1_msra_test: float | None  # MSRA test with gold mapped onto the guideline
    f1_by_domain: dict  # domain name (DOMAINS) -> F1 on that corpus's dev split


def plain_words(name: str, members: int = 0) -> str:
    """What a variant is and when to pick it, in a line, for someone who has never heard of quantization."""
    parts = []
    if name.startswith("ensemble"):
        parts.append(f"{members or 'several'} networks voting together: the most accurate, at the cost of their "
                     "combined time and size")
    if name.startswith("student"):
        parts.append("a small network trained to copy the full-precision one (distilled), then cut smaller still "
                     "(pruned): a fraction of its size and time at about the same accuracy")
    if name == "teacher":
        parts.append("the full-precision network (32-bit numbers) with every character pair it learnt: the "
                     "student's teacher, and the biggest")
    if name == REFERENCE:
        parts.append("the full-precision network (32-bit numbers), its rarest character pairs dropped: the "
                     "reference the others are measured against")
    if "pruned" in name:
        parts.append("rarely used rows of its tables removed")
    if "int8" in name:
        parts.append("weights stored as 8-bit integers instead of 32-bit numbers: about 4x smaller")
    if "emb4" in name:
        parts.append("its big word tables in 4 bits")
    if not parts:
        parts.append("a variant of the model")
    return "; ".join(parts)


def read_figures(model_path: Path, manifest, default: str) -> tuple[list[VariantFigures], dict]:
    """Every variant's stored figures (default first, then by size), and the benchmark's date and machine."""
    bench_file = model_path / "benchmark.json"
    bench = json.loads(bench_file.read_text(encoding="utf-8")) if bench_file.is_file() else {}
    out = []
    for name, v in manifest.variants.items():
        b = bench.get("variants", {}).get(name, {})
        ms = b.get("latency", {}).get("typical", {}).get("threads_1", {}).get("median_ms")
        out.append(
            VariantFigures(
                name=name,
                default=name == default,
                what=plain_words(name, len(v.members)),
                size_mb=round(v.size_bytes / 1e6, 1),
                parameters_m=round(v.parameters / 1e6, 1),
                ms_a_sentence=round(ms, 2) if ms else None,
                f1=v.metrics.get("dev", {}).get("overall", {}).get("f1"),
                f1_msra_test=v.metrics.get("test", {}).get("overall", {}).get("f1"),
                f1_by_domain={shown: v.metrics[key]["overall"]["f1"] for key, shown in DOMAINS.items()
                              if key in v.metrics},
            )
        )
    out.sort(key=lambda f: (not f.default, f.size_mb))
    return out, {"date": human_date(bench.get("date")), "machine": bench.get("machine", {})}


def human_date(stamp: str | None) -> str:
    """'26 Nov 2026' from an ISO timestamp; '' when unknown."""
    if not stamp:
        return ""
    try:
        return datetime.datetime.fromisoformat(stamp).strftime("%-d %b %Y")
    except ValueError:
        return stamp[:10]


def shown_name(f: VariantFigures) -> str:
    return f"★ {f.name} (default)" if f.default else f.name


def cards_html(figures: list[VariantFigures]) -> str:
    """Three cards: how much smaller and faster the default is than the float32 reference, and its F1 change."""
    by_name = {f.name: f for f in figures}
    d = next((f for f in figures if f.default), None)
    ref = by_name.get(REFERENCE)
    if d is None or ref is None or d.name == ref.name:
        return ""

    def card(value: str, label: str, good: bool | None) -> str:
        tone = "" if good is None else (" rl-good" if good else " rl-bad")
        return f'<div class="rl-card{tone}"><div class="rl-card-value">{value}</div><div>{label}</div></div>'

    cards = [
        card(
            f"{ref.size_mb / d.size_mb:.1f}×",
            f"smaller ({d.size_mb:.1f} vs {ref.size_mb:.1f} MB)",
            ref.size_mb >= d.size_mb,
        )
    ]
    if d.ms_a_sentence and ref.ms_a_sentence:
        ratio = ref.ms_a_sentence / d.ms_a_sentence
        label = "faster" if ratio >= 1 else "slower"
        cards.append(
            card(
                f"{max(ratio, 1 / ratio):.1f}×",
                f"{label} ({d.ms_a_sentence:.1f} vs {ref.ms_a_sentence:.1f} ms a sentence)",
                ratio >= 1,
            )
        )
    if d.f1 is not None and ref.f1 is not None:
        delta = (d.f1 - ref.f1) * 100
        cards.append(card(f"{delta:+.1f}", f"F1 points ({d.f1:.3f} vs {ref.f1:.3f})", delta >= -0.5))
    return (
        f'<div class="rl-cards"><div class="rl-cards-title">Default <b>{d.name}</b> against the full-precision '
        f"<b>{ref.name}</b></div>{''.join(cards)}</div>"
    )


def best_trade_offs(figures: list[VariantFigures]) -> list[str]:
    """The Pareto front on F1 and latency: variants that no other variant beats on one without losing on the other."""
    front = {p.name for p in pareto_front(scatter_points(figures, "ms a sentence"))}
    return [f.name for f in figures if shown_name(f) in front]


def variant_table(figures: list[VariantFigures]) -> pd.DataFrame:
    """One row a variant, in the units people read: MB with one decimal, millions of parameters, ms a sentence; ✓
    marks the best trade-offs (nothing else both more accurate and faster)."""
    front = set(best_trade_offs(figures))
    return pd.DataFrame(
        [
            {
                "variant": shown_name(f),
                "size (MB)": f.size_mb,
                "parameters (M)": f.parameters_m,
                "ms a sentence": f.ms_a_sentence,
                "F1 (4 domains)": f.f1,
                **{f"{k} F1": v for k, v in f.f1_by_domain.items()},
                "MSRA test F1": f.f1_msra_test,
                "best trade-off": "✓" if f.name in front else "",
            }
            for f in figures
        ]
    )


def guide_markdown(figures: list[VariantFigures]) -> str:
    """One line a variant: what it is, and which to pick."""
    lines = [f"- **{shown_name(f)}**: {f.what}." for f in figures]
    fastest = min((f for f in figures if f.ms_a_sentence), key=lambda f: f.ms_a_sentence, default=None)
    best = max((f for f in figures if f.f1 is not None), key=lambda f: f.f1, default=None)
    pick = []
    if best is not None:
        pick.append(f"the most accurate: **{best.name}**")
    if fastest is not None:
        pick.append(f"the fastest: **{fastest.name}**")
    smallest = min(figures, key=lambda f: f.size_mb, default=None)
    if smallest is not None:
        pick.append(f"the smallest: **{smallest.name}**")
    front = best_trade_offs(figures)
    if front:
        pick.append("the best trade-offs (nothing else both more accurate and faster): "
                    + ", ".join(f"**{n}**" for n in front))
    return "**Which to pick** — " + "; ".join(pick) + ".\n\n" + "\n".join(lines)


COSTS = {"ms a sentence": "ms_a_sentence", "size (MB)": "size_mb"}  # plot axis -> VariantFigures field


def scatter_points(figures: list[VariantFigures], cost: str) -> list[Point]:
    """F1 against ``cost`` (a COSTS key), one point a variant that has both, named as the table names it."""
    return [Point(shown_name(f), getattr(f, COSTS[cost]), f.f1, f.default) for f in figures
            if f.f1 is not None and getattr(f, COSTS[cost]) is not None]


def scatter_html(figures: list[VariantFigures], cost: str, title: str) -> str:
    """The F1-against-``cost`` plot as SVG (nothing without points)."""
    return scatter_svg(scatter_points(figures, cost), cost, title)
