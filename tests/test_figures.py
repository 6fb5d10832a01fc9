"""The compression tab's figures: read from the model directory, shaped for people, the best trade-offs marked."""
from __future__ import annotations

import re

import raner
from webapp.figures import (
    DOMAINS,
    REFERENCE,
    VariantFigures,
    best_trade_offs,
    cards_html,
    read_figures,
    scatter_html,
    variant_table,
)
from webapp.scatter import Point, axis, nice_ticks, pareto_front, scatter_svg


def figures(name: str, f1: float | None, ms: float | None, size: float = 1.0, default: bool = False):
    return VariantFigures(name=name, default=default, what="", size_mb=size, parameters_m=1.0, ms_a_sentence=ms,
                          f1=f1, f1_msra_test=None, f1_by_domain={})


def test_best_trade_offs_are_the_variants_nothing_beats_on_both():
    fs = [figures("slow-good", 0.93, 5.0), figures("fast-ok", 0.90, 1.0), figures("beaten", 0.89, 2.0),
          figures("tie", 0.93, 5.0), figures("unmeasured", None, 1.0)]
    assert best_trade_offs(fs) == ["slow-good", "fast-ok", "tie"]
    table = variant_table(fs)
    assert list(table["best trade-off"]) == ["✓", "✓", "", "✓", ""]


def test_axis_is_zoomed_to_the_data():
    lo, hi = axis([0.913, 0.928])
    assert 0.9 < lo < 0.913 and 0.928 < hi < 0.95
    assert axis([None]) is None


def test_ticks_are_round_and_inside_the_axis():
    assert nice_ticks(0.8616, 0.8689) == [0.862, 0.864, 0.866, 0.868]
    assert nice_ticks(0.0, 10.0) == [0.0, 2.5, 5.0, 7.5, 10.0]
    assert nice_ticks(1.0, 1.0) == [1.0]


def test_scatter_names_every_point_draws_the_front_and_the_default_larger():
    points = [Point("★ small (default)", 0.9, 0.868, default=True), Point("mid", 2.0, 0.870),
              Point("<big>", 2.9, 0.863), Point("best", 3.0, 0.875)]
    assert [p.name for p in pareto_front(points)] == ["★ small (default)", "mid", "best"]
    svg = scatter_svg(points, "ms a sentence", "F1 against latency")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    for name in ("★ small (default)", "mid", "&lt;big&gt;", "best"):  # on the plot itself, escaped
        assert f">{name}</text>" in svg
    assert "<big>" not in svg
    assert svg.count('class="rl-point rl-default"') == 1 and 'r="8"' in svg and svg.count('r="5"') == 3
    front = re.search(r'<polyline class="rl-front" points="([^"]+)"', svg).group(1).split()
    assert len(front) == 3  # the beaten point is off the line
    xs = [float(v) for v in re.findall(r'cx="([\d.]+)"', svg)]
    ys = [float(v) for v in re.findall(r'cy="([\d.]+)"', svg)]
    assert all(0 < x < 480 for x in xs) and all(0 < y < 300 for y in ys)
    assert scatter_svg([], "ms", "nothing") == ""


def test_labels_of_nearby_points_do_not_cover_each_other():
    svg = scatter_svg([Point("fp32", 2.87, 0.8628), Point("teacher", 2.86, 0.8630), Point("s", 0.9, 0.8677, True)],
                      "ms a sentence", "t")
    labels = {name: float(y) for y, name in re.findall(r'class="rl-label" x="[\d.]+" y="([\d.]+)"[^>]*>([^<]+)<', svg)}
    assert abs(labels["fp32"] - labels["teacher"]) >= 14 and labels["teacher"] < labels["fp32"]  # each by its point


def test_a_plot_without_its_figures_is_left_out_not_drawn_empty():
    fs = [figures("a", 0.9, None, size=3.0, default=True), figures("b", None, 2.0, size=50.0)]
    assert scatter_html(fs, "ms a sentence", "t") == ""  # no variant has both F1 and latency
    size_plot = scatter_html(fs, "size (MB)", "t")
    assert size_plot.count('class="rl-point') == 1 and "★ a (default)</text>" in size_plot


def test_shipped_plots_name_every_variant():
    rec = raner.load()
    fs, _ = read_figures(rec.path, rec.manifest, rec.manifest.default_variant)
    for cost in ("ms a sentence", "size (MB)"):
        svg = scatter_html(fs, cost, "x")
        assert f"★ {rec.variant} (default)</text>" in svg
        assert all(f">{v}</text>" in svg for v in rec.variants if v != rec.variant)


def test_shipped_figures_put_the_default_first_with_domains_and_cards():
    rec = raner.load()
    fs, meta = read_figures(rec.path, rec.manifest, rec.manifest.default_variant)
    assert fs[0].default and fs[0].name == rec.manifest.default_variant
    assert {f.name for f in fs} == set(rec.variants)
    assert set(fs[0].f1_by_domain) == set(DOMAINS.values())  # the manifest holds every corpus's dev score
    html = cards_html(fs)
    assert "smaller" in html and REFERENCE in html and "F1 points" in html


def test_header_states_the_defaults_size_to_a_tenth_and_the_machine_it_was_timed_on():
    from webapp.ui import header_html

    html = header_html(figures("student", 0.8634, 1.207, size=3.7, default=True), {"cpu": "AMD EPYC", "cores": 2})
    assert "3.7 MB" in html and "1.2 ms a sentence on one CPU thread (AMD EPYC, 2 cores)" in html
    assert "F1 0.863" in html
    assert "ms a sentence" not in header_html(figures("x", None, None, size=3.7))
