"""The shipped model's recorded F1 is what the runtime really scores on MSRA test (skips without ../shared)."""
from pathlib import Path

import pytest

import raner
from compression.data import read_conll
from compression.scoring import evaluate, read_markup

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

pytestmark = pytest.mark.slow


def test_default_variant_scores_what_its_manifest_says(msra):
    rec = raner.load(cache_size=0)
    result = evaluate(rec, read_conll(msra / "test.txt"))
    recorded = rec.manifest.variants[rec.variant].metrics["test"]
    assert result["overall"]["f1"] == pytest.approx(recorded["overall"]["f1"], abs=0.002)
    assert result["overall"]["f1"] >= 0.92  # the issue's target for the default (it measured 0.9276)
    for kind in ("PER", "LOC", "ORG"):
        assert result[kind]["f1"] == pytest.approx(recorded[kind]["f1"], abs=0.003)


def test_default_variant_on_our_modern_news_sentences():
    """A floor on the held-out sentences we wrote (samples/news.txt); the default ensemble scored 0.953 there
    (its own network alone 0.926, lacgaz2 0.899)."""
    rec = raner.load(cache_size=0)
    result = evaluate(rec, read_markup(SAMPLES / "news.txt"))
    assert result["overall"]["f1"] >= 0.90
    assert [(e.text, e.type) for e in rec.predict("华为创始人任正非在深圳接受了新华社记者的采访。")] == [
        ("华为", "ORG"), ("任正非", "PER"), ("深圳", "LOC"), ("新华社", "ORG")]


def test_the_seed_example_comes_out_as_the_issue_asks():
    """Learnt from the 总部 convention and brand rewrites in training; no sentence is special-cased anywhere."""
    got = [(e.text, e.type, e.start, e.end) for e in raner.load(cache_size=0).predict("马云在杭州阿里巴巴总部发表演讲")]
    assert got == [("马云", "PER", 0, 2), ("杭州", "LOC", 3, 5), ("阿里巴巴", "ORG", 5, 9)]


def test_default_variant_splits_run_together_names():
    """Rosters and bylines we wrote (samples/rosters.txt): the default scored PER F1 0.977 there, lacgaz2 0.846."""
    result = evaluate(raner.load(cache_size=0), read_markup(SAMPLES / "rosters.txt"))
    assert result["PER"]["f1"] >= 0.93


def test_every_variant_reads_the_seed_example_the_same_way():
    """The single-model variants and the ensemble alike: the split is learnt by every member."""
    rec = raner.load(cache_size=0)
    for variant in rec.variants:
        got = [(e.text, e.type) for e in rec.with_variant(variant).predict("马云在杭州阿里巴巴总部发表演讲")]
        assert got == [("马云", "PER"), ("杭州", "LOC"), ("阿里巴巴", "ORG")], variant
