"""Posterior distillation: CRF marginals, the ensemble teacher, and a tiny distilled training run."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from compression.crf import CRFLayer


def brute_force_marginals(crf: CRFLayer, em: torch.Tensor) -> torch.Tensor:
    """P(tag at t) by enumerating every path of a short sequence."""
    length, tags = em.shape
    probs, z = torch.zeros(length, tags), 0.0
    for path in itertools.product(range(tags), repeat=length):
        score = crf.start[path[0]] + crf.end[path[-1]] + sum(em[t, p] for t, p in enumerate(path))
        score = score + sum(crf.transitions[a, b] for a, b in zip(path, path[1:]))
        w = float(torch.exp(score))
        z += w
        for t, p in enumerate(path):
            probs[t, p] += w
    return probs / z


def test_crf_marginals_match_enumeration_for_padded_sequences():
    torch.manual_seed(3)
    crf = CRFLayer(3)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    em = torch.randn(3, 4, 3)
    lengths = [4, 2, 1]
    mask = torch.arange(4).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    got = crf.log_marginals(em, mask).exp()
    for b, n in enumerate(lengths):
        assert torch.allclose(got[b, :n], brute_force_marginals(crf, em[b, :n]), atol=1e-5)
        assert torch.allclose(got[b, :n].sum(1), torch.ones(n), atol=1e-5)


def test_marginals_ignore_a_shared_shift_and_their_gradient_has_no_shared_part():
    crf = CRFLayer(3)
    em = torch.randn(2, 6, 3, requires_grad=True)
    mask = torch.ones(2, 6, dtype=torch.bool)
    shifted = crf.log_marginals(em + 500 * torch.randn(2, 6, 1), mask)
    assert torch.allclose(shifted, crf.log_marginals(em, mask), atol=1e-4)
    (crf.log_marginals(em, mask)[:, :, 0].sum()).backward()
    assert torch.allclose(em.grad.sum(2), torch.zeros(2, 6), atol=1e-5)


def test_marginals_are_differentiable():
    crf = CRFLayer(3)
    em = torch.randn(1, 5, 3, requires_grad=True)
    crf.log_marginals(em, torch.ones(1, 5, dtype=torch.bool))[0, 2, 1].backward()
    assert em.grad is not None and torch.isfinite(em.grad).all() and em.grad.abs().sum() > 0


@pytest.fixture(scope="module")
def tiny_exported(tiny_corpus, tmp_path_factory):
    """A tiny trained and exported model directory (fp32 only)."""
    from compression import export, train

    out = tmp_path_factory.mktemp("teacher") / "tiny"
    train.main(["--data", str(tiny_corpus), "--out", str(out), "--epochs", "1", "--hidden", "8", "--char-dim", "8",
                "--bigram-dim", "4", "--heads", "1", "--bigram-min-count", "1"])
    export.main([str(out), "--no-eval"])
    return out


@pytest.mark.slow
def test_teacher_marginals_are_distributions_over_the_runtime_emissions(tiny_exported):
    import raner
    from compression.distill import EnsembleTeacher

    rec = raner.load(tiny_exported, variant="fp32", cache_size=0)
    teacher = EnsembleTeacher([tiny_exported, tiny_exported], rec.manifest.labels)
    texts = ["马云在杭州发表演讲", "华为"]
    probs = teacher.log_marginals(texts).exp()
    assert probs.shape == (2, 9, len(rec.manifest.labels))
    assert torch.allclose(probs[0].sum(1), torch.ones(9), atol=1e-5)
    assert torch.allclose(probs[1, :2].sum(1), torch.ones(2), atol=1e-5)
    # a model averaged with itself is that model
    single = EnsembleTeacher([tiny_exported], rec.manifest.labels).log_marginals(texts)
    assert torch.allclose(single[0], teacher.log_marginals(texts)[0], atol=1e-5)


@pytest.mark.slow
def test_a_teacher_named_dir_colon_variant_runs_that_variant_with_its_crf(tiny_exported, tmp_path):
    """``DIR:VARIANT`` teaches with that variant (a served ensemble has its own averaged CRF), ``DIR`` with fp32."""
    import shutil
    from dataclasses import replace

    import raner
    from compression.crf import log_marginals
    from compression.distill import EnsembleTeacher
    from raner.manifest import read_manifest, write_manifest

    d = tmp_path / "model"
    shutil.copytree(tiny_exported, d)
    m = read_manifest(d)
    crf = dict(np.load(d / m.crf))
    np.savez(d / "crf.other.npz", **{k: v * 3 for k, v in crf.items()})
    write_manifest(d, m.with_variant(replace(m.variants["fp32"], name="other", crf="crf.other.npz")))
    texts = ["马云在杭州发表演讲"]
    em = torch.from_numpy(np.stack(raner.load(d, variant="fp32", cache_size=0).emissions(texts)))
    mask = torch.ones(em.shape[:2], dtype=torch.bool)
    expected = log_marginals(*(torch.from_numpy(crf[k] * 3) for k in ("start", "end", "transitions")), em, mask)
    other = EnsembleTeacher([f"{d}:other"], m.labels).log_marginals(texts)
    assert torch.allclose(other, expected, atol=1e-5)
    assert not torch.allclose(other, EnsembleTeacher([d], m.labels).log_marginals(texts), atol=1e-3)


@pytest.mark.slow
def test_teacher_refuses_other_labels(tiny_exported):
    from compression.distill import EnsembleTeacher

    with pytest.raises(ValueError, match="labels"):
        EnsembleTeacher([tiny_exported], ["O", "B-X", "I-X"])


@pytest.mark.slow
def test_distillation_loss_stays_finite_beside_padding(tiny_exported):
    """Padded positions of the teacher's and the student's marginals hold junk (the teacher's overflowed to inf
    when a batch mixed 1 and 150 characters): they must not reach the loss or its gradient."""
    import raner
    from compression.distill import EnsembleTeacher, posterior_loss

    labels = raner.load(tiny_exported, variant="fp32", cache_size=0).manifest.labels
    teacher = EnsembleTeacher([tiny_exported], labels)
    texts = ["马云在杭州发表演讲。" * 15, "华"]
    emissions = torch.randn(2, 150, len(labels), requires_grad=True)
    loss = posterior_loss(teacher, CRFLayer(len(labels)), 1.0)(texts, {"lengths": torch.tensor([150, 1])}, emissions)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(emissions.grad).all()
    assert set(teacher.cache) == set(texts)  # kept: the next epoch runs only the student
    again = teacher.log_marginals(texts)
    assert torch.allclose(again[1, :1], EnsembleTeacher([tiny_exported], labels).log_marginals(["华"])[0])


@pytest.mark.slow
def test_distilled_training_on_unlabelled_text_and_entity_dropout_run(tiny_corpus, tiny_exported, tmp_path):
    import json

    from compression import train

    unlabelled = tmp_path / "headlines.txt"
    unlabelled.write_text("华为在龘城发布新手机\n\n马云回到杭州\n", encoding="utf-8")
    out = tmp_path / "student"
    train.main(["--data", str(tiny_corpus), "--out", str(out), "--epochs", "2", "--hidden", "8", "--char-dim", "8",
                "--bigram-dim", "4", "--heads", "1", "--bigram-min-count", "1", "--teachers", str(tiny_exported),
                "--unlabelled", str(unlabelled), "--entity-bigram-dropout", "0.5", "--entity-char-dropout", "0.2"])
    info = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert info["unlabelled_sentences"] == 2
    assert all(np.isfinite(h["loss"]) for h in info["history"]), info["history"]
    assert "龘" in (out / "vocab.txt").read_text(encoding="utf-8").split()  # unlabelled text joins the vocabularies


def test_crf_loss_leaves_out_sentences_without_gold():
    crf = CRFLayer(3)
    em, tags = torch.randn(2, 4, 3), torch.zeros(2, 4, dtype=torch.long)
    mask = torch.ones(2, 4, dtype=torch.bool)
    first = crf.nll(em[:1], tags[:1], mask[:1])
    assert torch.allclose(crf.nll(em, tags, mask, torch.tensor([True, False])), first)
    assert crf.nll(em, tags, mask, torch.tensor([False, False])) == 0
