"""The compression tab's figures: read from the model directory, shaped for people, the best trade-offs marked."""
from __future__ import annotations

import raner
from webapp.figures import (
    DOMAINS,
    REFERENCE,
    VariantFigures,
    axis,
    best_trade_offs,
    cards_html,
    read_figures,
    variant_table,
)


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
