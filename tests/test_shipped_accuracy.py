"""The shipped model's recorded F1 is what the runtime really scores on MSRA test (skips without ../shared)."""
import pytest

import raner
from compression.data import read_conll
from compression.evaluate import evaluate

pytestmark = pytest.mark.slow


def test_default_variant_scores_what_its_manifest_says(msra):
    rec = raner.load(cache_size=0)
    result = evaluate(rec, read_conll(msra / "test.txt"))
    recorded = rec.manifest.variants[rec.variant].metrics["test"]
    assert result["overall"]["f1"] == pytest.approx(recorded["overall"]["f1"], abs=0.002)
    assert result["overall"]["f1"] >= 0.85
    for kind in ("PER", "LOC", "ORG"):
        assert result[kind]["f1"] == pytest.approx(recorded[kind]["f1"], abs=0.003)


def test_default_variant_on_our_modern_news_sentences():
    """A floor on the held-out sentences we wrote (samples/news.txt); the shipped default scored 0.899 there."""
    from pathlib import Path

    from compression.evaluate import read_markup

    rec = raner.load(cache_size=0)
    result = evaluate(rec, read_markup(Path(__file__).resolve().parent.parent / "samples" / "news.txt"))
    assert result["overall"]["f1"] >= 0.88
    assert [(e.text, e.type) for e in rec.predict("华为创始人任正非在深圳接受了新华社记者的采访。")] == [
        ("华为", "ORG"), ("任正非", "PER"), ("深圳", "LOC"), ("新华社", "ORG")]
