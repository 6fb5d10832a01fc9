import pytest

from raner.spans import allowed_transition, spans_to_tags, tags_to_spans, trim_spaces


def test_bio_spans():
    tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O", "B-ORG"]
    assert tags_to_spans(tags) == [("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 6), ("ORG", 7, 8)]


def test_bio_strict_drops_dangling_inside():
    assert tags_to_spans(["O", "I-PER", "I-PER", "O"]) == []
    assert tags_to_spans(["B-PER", "I-LOC"]) == [("PER", 0, 1)]


def test_bioes_spans():
    tags = ["S-PER", "B-LOC", "I-LOC", "E-LOC", "O", "B-ORG", "E-ORG"]
    assert tags_to_spans(tags, "BIOES") == [("PER", 0, 1), ("LOC", 1, 4), ("ORG", 5, 7)]


def test_bioes_unclosed_entity_is_dropped():
    assert tags_to_spans(["B-PER", "I-PER", "O"], "BIOES") == []
    assert tags_to_spans(["B-PER", "I-PER"], "BIOES") == []
    assert tags_to_spans(["B-PER", "E-LOC"], "BIOES") == []


def test_empty_and_unknown_scheme():
    assert tags_to_spans([]) == []
    with pytest.raises(ValueError, match="scheme"):
        tags_to_spans(["O"], "IOB1")


def test_allowed_transitions_bio():
    assert not allowed_transition("O", "I-PER")
    assert not allowed_transition("START", "I-PER")
    assert not allowed_transition("B-PER", "I-LOC")
    assert allowed_transition("B-PER", "I-PER")
    assert allowed_transition("I-PER", "I-PER")
    assert allowed_transition("I-PER", "END")


def test_allowed_transitions_bioes():
    assert not allowed_transition("B-PER", "O", "BIOES")
    assert not allowed_transition("B-PER", "END", "BIOES")
    assert allowed_transition("B-PER", "E-PER", "BIOES")
    assert allowed_transition("E-PER", "S-LOC", "BIOES")
    assert not allowed_transition("O", "E-PER", "BIOES")


def test_spans_to_tags_inverts_tags_to_spans():
    for scheme, tags in (("BIO", ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"]),
                         ("BIOES", ["S-PER", "B-LOC", "I-LOC", "E-LOC", "O", "B-ORG", "E-ORG"])):
        assert spans_to_tags(tags_to_spans(tags, scheme), len(tags), scheme) == tags


def test_trim_spaces_moves_both_edges_inward():
    assert trim_spaces(" 周杰伦 的", 0, 5) == (1, 4)
    assert trim_spaces("Sam Altman", 0, 10) == (0, 10)  # a space inside a name stays
    a, b = trim_spaces("a   b", 1, 4)
    assert a == b  # all space: empty
