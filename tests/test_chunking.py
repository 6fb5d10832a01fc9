from hypothesis import given, settings
from hypothesis import strategies as st

from raner.chunking import chunk_spans


def test_sentences_are_split_at_their_ends():
    text = "马云来了。他走了！好吗？"
    assert [text[a:b] for a, b in chunk_spans(text, 100)] == ["马云来了。", "他走了！", "好吗？"]


def test_long_sentence_prefers_weak_breaks():
    text = "甲" * 8 + "，" + "乙" * 8
    assert chunk_spans(text, 12) == [(0, 9), (9, 17)]


def test_no_break_cuts_at_window():
    assert chunk_spans("a" * 25, 10) == [(0, 10), (10, 20), (20, 25)]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("马云。，！ a\n；")), max_size=300), st.integers(1, 40))
def test_pieces_tile_the_text(text, max_length):
    spans = chunk_spans(text, max_length)
    assert "".join(text[a:b] for a, b in spans) == text
    assert all(0 < b - a <= max_length for a, b in spans)
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))
