"""F1 against a cost (latency, size) as an inline SVG scatter plot: every point named on the plot, the best
trade-offs joined by a line, the default drawn larger, axes zoomed to the data.

Gradio's ScatterPlot can name points only in a legend and draw neither a line through some of them nor one point
larger; an SVG of a few hundred bytes does all three, scales to a phone's width and appears with the page.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 480, 300
LEFT, RIGHT, TOP, BOTTOM = 58, 16, 34, 44
DEFAULT_COLOR, POINT_COLOR, FRONT_COLOR = "#ff2bd6", "#00e5ff", "#ffe600"
GRID, TEXT, SUBDUED = "#2a2350", "#e8e6f0", "#b8b4c8"
LABEL_EM = 14  # room a label's character takes, in the plot's units (the phone layout draws them larger)


@dataclass(frozen=True)
class Point:
    """One variant on the plot."""

    name: str  # as shown (the default marked)
    cost: float  # x: lower is better
    f1: float  # y: higher is better
    default: bool = False


def pareto_front(points: Sequence[Point]) -> list[Point]:
    """The points no other point beats on one axis without losing on the other, cheapest first."""
    front = [p for p in points
             if not any(q.f1 >= p.f1 and q.cost <= p.cost and (q.f1 > p.f1 or q.cost < p.cost) for q in points)]
    return sorted(front, key=lambda p: (p.cost, -p.f1))


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``lo..hi``: steps of 1, 2, 2.5 or 5 times a power of ten."""
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _decimals(step: float) -> int:
    """Digits after the point that show every tick of this step exactly (2.5 needs one, 0.0025 four)."""
    places = max(0, -math.floor(math.log10(step) + 1e-9))
    while places < 10 and round(step * 10**places, 6) % 1:
        places += 1
    return places


def scatter_svg(points: Sequence[Point], x_label: str, title: str, pad: float = 0.15) -> str:
    """The plot as an ``<svg>`` element (empty string without points)."""
    if not points:
        return ""
    (x0, x1), (y0, y1) = (axis([p.cost for p in points], pad), axis([p.f1 for p in points], pad))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return TOP + (y1 - y) / (y1 - y0) * plot_h

    parts = [f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="{GRID}"/>']
    for ticks, horizontal in ((nice_ticks(x0, x1), False), (nice_ticks(y0, y1), True)):
        places = _decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 2
        for t in ticks:
            label = f"{t:.{places}f}"
            if horizontal:
                y = py(t)
                parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
                parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{SUBDUED}" '
                             f'font-size="11" class="rl-tick">{label}</text>')
            else:
                x = px(t)
                parts.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + plot_h}" stroke="{GRID}"/>')
                parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" fill="{SUBDUED}" '
                             f'font-size="11" class="rl-tick">{label}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" text-anchor="middle" fill="{TEXT}" '
                 f'font-size="12" class="rl-axis">{escape(x_label)}</text>')
    parts.append(f'<text x="14" y="{TOP + plot_h / 2}" text-anchor="middle" fill="{TEXT}" font-size="12" '
                 f'transform="rotate(-90 14 {TOP + plot_h / 2})" class="rl-axis">F1</text>')
    parts.append(f'<text x="{LEFT}" y="20" fill="{TEXT}" font-size="13" class="rl-title">{escape(title)}</text>')
    front = pareto_front(points)
    if len(front) > 1:
        line = " ".join(f"{px(p.cost):.1f},{py(p.f1):.1f}" for p in front)
        parts.append(f'<polyline class="rl-front" points="{line}" fill="none" stroke="{FRONT_COLOR}" '
                     'stroke-width="1.5" stroke-dasharray="5 4"/>')
    on_front = {p.name for p in front}
    placed: list[tuple[float, float, float]] = []  # labels so far: left and right edge, baseline
    for p in sorted(points, key=lambda p: p.default):  # the default drawn last, on top
        x, y = px(p.cost), py(p.f1)
        color = DEFAULT_COLOR if p.default else POINT_COLOR
        radius = 8 if p.default else 5
        ring = f' stroke="{FRONT_COLOR}" stroke-width="2"' if p.name in on_front else ""
        cls = "rl-point rl-default" if p.default else "rl-point"
        parts.append(f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{color}"{ring}>'
                     f'<title>{escape(p.name)}: F1 {p.f1:.4f}, {escape(x_label)} {p.cost:g}</title></circle>')
        right = x < LEFT + plot_w * 0.62  # the name on the side with room
        label_x, anchor = (x + radius + 6, "start") if right else (x - radius - 6, "end")
        width = LABEL_EM * len(p.name)
        left = label_x if right else label_x - width
        baseline = y + 4
        for _ in range(len(placed)):  # a label that would cover another moves off it, on the side its point is
            hit = next((base for a, b, base in placed
                        if a < left + width and left < b and abs(base - baseline) < LABEL_EM), None)
            if hit is None:
                break
            baseline = hit - LABEL_EM if baseline < hit else hit + LABEL_EM
        placed.append((left, left + width, baseline))
        weight = "bold" if p.default else "normal"
        parts.append(f'<text class="rl-label" x="{label_x:.1f}" y="{baseline:.1f}" text-anchor="{anchor}" '
                     f'fill="{color}" font-size="12" font-weight="{weight}">{escape(p.name)}</text>')
    if on_front:
        parts.append(f'<text x="{LEFT + plot_w}" y="{HEIGHT - 8}" text-anchor="end" fill="{FRONT_COLOR}" '
                     'font-size="11" class="rl-note">ringed: best trade-offs</text>')
    return (f'<svg class="rl-scatter" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
            f'xmlns="http://www.w3.org/2000/svg" font-family="inherit">{"".join(parts)}</svg>')


def axis(values, pad: float = 0.15) -> list[float] | None:
    """Axis limits zoomed to the data with a margin, so 0.913 and 0.928 do not look equal."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or abs(hi) * 0.1 or 1.0
    return [lo - span * pad, hi + span * pad]
