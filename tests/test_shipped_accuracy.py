"""The shipped model's recorded F1 is what the runtime really scores on MSRA test (gold mapped onto our guideline, as
the training data is; skips without ../shared), and floors on the sets we wrote (samples/)."""
from pathlib import Path

import pytest

import raner
from compression.corpora import read_msra_test
from compression.scoring import evaluate, read_markup
from raner.spans import tags_to_spans

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

pytestmark = pytest.mark.slow
HARD_CASES_RIGHT = 17  # sentences of samples/hard_cases.txt the default gets wholly right (measured; 24 in all)


def test_default_variant_scores_what_its_manifest_says(msra):
    rec = raner.load(cache_size=0)
    result = evaluate(rec, read_msra_test(msra.parent))
    recorded = rec.manifest.variants[rec.variant].metrics["test"]
    # a consistency check, never a floor: the reserved split reports the shipped model, it does not pass or fail one
    assert result["overall"]["f1"] == pytest.approx(recorded["overall"]["f1"], abs=0.002)
    for kind in ("PER", "LOC", "ORG"):
        assert result[kind]["f1"] == pytest.approx(recorded[kind]["f1"], abs=0.003)


def test_reported_errors_are_learned_not_special_cased():
    """The errors users reported (samples/hard_cases.txt, written per docs/GUIDELINES.md, never trained on): no rule
    in the code names these words; the model learnt what it gets right from the mapped corpora. A floor at what the
    default measured, so a regression fails; the rest are listed in docs/ACCURACY.md as still wrong."""
    rec = raner.load(cache_size=0)
    cases = read_markup(SAMPLES / "hard_cases.txt")
    right = [s.text for s in cases
             if {(e.type, e.start, e.end) for e in rec.predict(s.text)} == set(tags_to_spans(s.tags))]
    assert len(right) >= HARD_CASES_RIGHT, f"{len(right)} of {len(cases)} right: {right}"


def test_default_variant_on_our_modern_news_sentences():
    """A floor on the held-out sentences we wrote (samples/news.txt)."""
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
    """Rosters and bylines we wrote (samples/rosters.txt)."""
    result = evaluate(raner.load(cache_size=0), read_markup(SAMPLES / "rosters.txt"))
    assert result["PER"]["f1"] >= 0.93


def test_every_variant_reads_the_seed_example_the_same_way():
    """Every variant: the split is learnt, not a rule."""
    rec = raner.load(cache_size=0)
    for variant in rec.variants:
        got = [(e.text, e.type) for e in rec.with_variant(variant).predict("马云在杭州阿里巴巴总部发表演讲")]
        assert got == [("马云", "PER"), ("杭州", "LOC"), ("阿里巴巴", "ORG")], variant
