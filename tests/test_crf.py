import itertools

import numpy as np
import pytest

from raner.crf import CRF
from raner.spans import allowed_transition, tags_to_spans

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
BIOES = ["O", "B-PER", "I-PER", "E-PER", "S-PER"]


def brute_force(crf: CRF, em: np.ndarray) -> tuple[int, ...]:
    best, best_path = -np.inf, None
    for path in itertools.product(range(em.shape[1]), repeat=em.shape[0]):
        s = crf.start[path[0]] + crf.end[path[-1]] + sum(em[t, p] for t, p in enumerate(path))
        s += sum(crf.transitions[a, b] for a, b in zip(path, path[1:]))
        if s > best:
            best, best_path = s, path
    return best_path


@pytest.mark.parametrize("seed", range(25))
def test_viterbi_equals_brute_force_on_random_batches(seed):
    rng = np.random.default_rng(seed)
    crf = CRF(rng.normal(size=5).astype(np.float32), rng.normal(size=5).astype(np.float32),
              rng.normal(size=(5, 5)).astype(np.float32))
    lengths = rng.integers(1, 6, size=3)
    em = rng.normal(size=(3, int(lengths.max()), 5)).astype(np.float32)
    paths = crf.viterbi(em, lengths)
    for b in range(3):
        assert tuple(paths[b]) == brute_force(crf, em[b, : lengths[b]])


@pytest.mark.parametrize("labels,scheme", [(LABELS, "BIO"), (BIOES, "BIOES")])
def test_constrained_paths_are_always_well_formed(labels, scheme):
    rng = np.random.default_rng(0)
    crf = CRF.constrained(rng.normal(size=5), rng.normal(size=5), rng.normal(size=(5, 5)), labels, scheme)
    em = rng.normal(scale=5.0, size=(64, 9, 5)).astype(np.float32)
    for path in crf.viterbi(em, [9] * 64):
        tags = [labels[i] for i in path]
        assert all(allowed_transition(a, b, scheme) for a, b in zip(["START"] + tags, tags + ["END"]))
        covered = sum(e - s for _, s, e in tags_to_spans(tags, scheme))
        assert covered == sum(t != "O" for t in tags)


def test_many_tags_decode_one_text_by_the_numpy_loop_correctly():
    rng = np.random.default_rng(7)
    n = 40  # above WRITTEN_OUT_TAGS: no Python written out for 1,600 moves
    crf = CRF(*(rng.normal(size=s).astype(np.float32) for s in (n, n, (n, n))))
    for length in (1, 2):
        em = rng.normal(size=(1, length, n)).astype(np.float32)
        assert tuple(crf.viterbi(em, [length])[0]) == brute_force(crf, em[0])
    assert "_decode_one" not in crf.__dict__


def test_empty_batch_and_zero_length():
    crf = CRF(np.zeros(5, np.float32), np.zeros(5, np.float32), np.zeros((5, 5), np.float32))
    assert crf.viterbi(np.zeros((0, 3, 5), np.float32), []) == []
    out = crf.viterbi(np.zeros((2, 3, 5), np.float32), [0, 3])
    assert len(out[0]) == 0 and len(out[1]) == 3
    assert [len(p) for p in crf.viterbi(np.zeros((2, 0, 5), np.float32), [0, 0])] == [0, 0]  # a padded batch of nothing
    assert [len(p) for p in crf.viterbi(np.zeros((1, 4, 5), np.float32), [-1])] == [0]  # not the end's 3 steps


def all_paths(crf, em):
    import itertools

    n, c = em.shape
    out = {}
    for path in itertools.product(range(c), repeat=n):
        s = crf.start[path[0]] + crf.end[path[-1]] + sum(em[t, p] for t, p in enumerate(path))
        s += sum(crf.transitions[a, b] for a, b in zip(path, path[1:]))
        out[path] = s
    return out


@pytest.mark.parametrize("seed", range(10))
def test_marginals_equal_brute_force_and_sum_to_one(seed):
    from raner.crf import marginals

    rng = np.random.default_rng(seed)
    crf = CRF(rng.normal(size=4), rng.normal(size=4), rng.normal(size=(4, 4)))
    em = rng.normal(size=(5, 4))
    m = marginals(crf, em, 5)
    np.testing.assert_allclose(m.sum(1), 1.0, atol=1e-9)
    scores = all_paths(crf, em)
    z = np.logaddexp.reduce(list(scores.values()))
    ref = np.zeros((5, 4))
    for path, s in scores.items():
        for t, j in enumerate(path):
            ref[t, j] += np.exp(s - z)
    np.testing.assert_allclose(m, ref, atol=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_span_probability_equals_brute_force(seed):
    from raner.crf import forward_backward, span_probabilities

    rng = np.random.default_rng(seed)
    crf = CRF.constrained(rng.normal(size=5), rng.normal(size=5), rng.normal(size=(5, 5)), LABELS)
    em = rng.normal(scale=2.0, size=(5, 5))
    em[1, 1] += 6.0  # make sure the best path holds an entity (B-PER at 1)
    path = crf.viterbi(em[None], [5])[0]
    assert tags_to_spans([LABELS[i] for i in path])
    tables = forward_backward(crf, em, 5)
    scores = all_paths(crf, em)
    z = np.logaddexp.reduce(list(scores.values()))
    spans = tags_to_spans([LABELS[i] for i in path])
    stops = [frozenset({LABELS.index(f"I-{k}")}) for k, _, _ in spans]
    got_all = span_probabilities(crf, tables, em, path, [(a, b, stop) for (_, a, b), stop in zip(spans, stops)])
    for (kind, a, b), got in zip(spans, got_all):
        inside = LABELS.index(f"I-{kind}")
        ref = sum(np.exp(s - z) for p, s in scores.items()
                  if tuple(p[a:b]) == tuple(path[a:b]) and (b == 5 or p[b] != inside))
        assert got == pytest.approx(ref, abs=1e-6)


@pytest.mark.parametrize("seed", range(10))
def test_single_sequence_path_equals_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    crf = CRF(rng.normal(size=5).astype(np.float32), rng.normal(size=5).astype(np.float32),
              rng.normal(size=(5, 5)).astype(np.float32))
    n = int(rng.integers(1, 7))
    em = rng.normal(size=(1, n + 2, 5)).astype(np.float32)  # padded past its length
    assert tuple(crf.viterbi(em, [n])[0]) == brute_force(crf, em[0, :n])


@pytest.mark.parametrize("labels,scheme", [(LABELS, "BIO"), (BIOES, "BIOES")])
def test_one_sequence_alone_gets_its_batched_path(labels, scheme):
    # a single text is decoded in plain Python, a batch in numpy: both must agree, ties included
    rng = np.random.default_rng(1)
    crf = CRF.constrained(*(np.round(rng.normal(size=s)) for s in (5, 5, (5, 5))), labels, scheme)
    em = np.round(rng.normal(scale=2.0, size=(200, 12, 5))).astype(np.float32)  # whole numbers: many ties
    lengths = rng.integers(1, 13, size=200)
    batched = crf.viterbi(em, lengths)
    for b in range(200):
        assert crf.viterbi(em[b : b + 1], lengths[b : b + 1])[0].tolist() == batched[b].tolist()


@pytest.mark.parametrize("length", [1, 2, 3, 64, 300])
def test_forward_backward_equals_the_plain_log_space_recursion(length):
    # the scan rescales products of up to 2**k steps; a long text with large scores must not under- or overflow
    from raner.crf import forward_backward

    rng = np.random.default_rng(length)
    crf = CRF.constrained(rng.normal(size=5), rng.normal(size=5), rng.normal(size=(5, 5)), LABELS)
    em = rng.normal(scale=8.0, size=(length, 5))
    alpha, beta, log_z = forward_backward(crf, em, length)
    ref_alpha, ref_beta = np.empty((length, 5)), np.empty((length, 5))
    ref_alpha[0] = crf.start + em[0]
    for t in range(1, length):
        ref_alpha[t] = np.logaddexp.reduce(ref_alpha[t - 1][:, None] + crf.transitions, axis=0) + em[t]
    ref_beta[-1] = crf.end
    for t in range(length - 2, -1, -1):
        ref_beta[t] = np.logaddexp.reduce(crf.transitions + (em[t + 1] + ref_beta[t + 1])[None, :], axis=1)
    reachable = ref_alpha > -1e3  # forbidden moves: -inf in the scan, about -1e4 in the reference
    np.testing.assert_allclose(alpha[reachable], ref_alpha[reachable], rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(beta[ref_beta > -1e3], ref_beta[ref_beta > -1e3], rtol=1e-9, atol=1e-7)
    assert log_z == pytest.approx(np.logaddexp.reduce(ref_alpha[-1] + crf.end), abs=1e-7)
