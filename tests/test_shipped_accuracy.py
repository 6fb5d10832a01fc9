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
