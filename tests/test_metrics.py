import random

import pytest

from compression.metrics import score_spans, score_tags


def test_exact_match_counts():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "O", "O", "B-LOC"]]
    r = score_tags(gold, pred)
    assert r["overall"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert r["PER"]["f1"] == 0.0 and r["LOC"]["f1"] == 1.0


def test_empty_predictions_score_zero_not_crash():
    r = score_spans([[("PER", 0, 2)]], [[]])
    assert r["overall"]["f1"] == 0.0 and r["overall"]["recall"] == 0.0


def test_agrees_with_seqeval_strict_on_random_sequences():
    seqeval = pytest.importorskip("seqeval.metrics")
    from seqeval.scheme import IOB2

    rng = random.Random(0)
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]

    def seq(n):  # well-formed gold
        out = []
        for _ in range(n):
            t = rng.choice(tags)
            if t.startswith("I-") and not (out and out[-1][2:] == t[2:] and out[-1] != "O"):
                t = "B-" + t[2:]
            out.append(t)
        return out

    gold = [seq(rng.randint(1, 15)) for _ in range(300)]
    pred = [[rng.choice(tags) if rng.random() < 0.3 else t for t in g] for g in gold]
    ours = score_tags(gold, pred)["overall"]
    theirs = seqeval.f1_score(gold, pred, mode="strict", scheme=IOB2)
    assert ours["f1"] == pytest.approx(theirs, abs=1e-4)
    assert ours["precision"] == pytest.approx(seqeval.precision_score(gold, pred, mode="strict", scheme=IOB2), abs=1e-4)
