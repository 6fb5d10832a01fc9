"""LAC's own tokenization: dictionary segmentation (fewest pieces), ASCII runs joined, vocabulary rows per piece."""
import math

import numpy as np

from raner.lac_tokens import LacTokenizer

VOCAB = ["OOV", "马", "云", "在", "杭州", "阿里巴巴", "总部", "ABC1", "A", "会"]


def tokenizer() -> LacTokenizer:
    words = {"杭州", "阿里", "巴巴", "阿里巴巴", "总部", "部发", "发表", "演讲", "表演"}
    return LacTokenizer({w: i for i, w in enumerate(VOCAB)}, words, math.log(1000), {"會": "会"}, 0)


def test_fewest_pieces_win_and_ascii_runs_join():
    tok = tokenizer()
    words = ["马", "云", "在", "杭州", "阿里巴巴", "总部", "发表", "演讲"]
    assert tok.segment("马云在杭州阿里巴巴总部发表演讲") == words
    assert tok.segment("ABC1在杭州") == ["ABC1", "在", "杭州"]
    assert tok.segment("") == []


def test_pieces_map_to_rows_and_characters_to_their_piece():
    t = tokenizer().encode("在杭州开會")
    # 在 -> row 3, 杭州 -> row 4, 开 unknown -> OOV, 會 replaced by 会 -> row 9
    assert t.ids.tolist() == [3, 4, 0, 9]
    assert t.index.tolist() == [0, 1, 1, 2, 3]
    words = tokenizer().encode("发表演讲")  # segmentation words missing from the vocabulary go one character a step
    assert words.ids.tolist() == [0, 0, 0, 0] and words.index.tolist() == [0, 1, 2, 3]


def test_packed_file_round_trip(tmp_path):
    tok = tokenizer()
    tok.write(tmp_path / "lac_tokens.npz")
    back = LacTokenizer.read(tmp_path / "lac_tokens.npz")
    text = "马云在杭州阿里巴巴总部发表演讲ABC1會"
    a, b = tok.encode(text), back.encode(text)
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.index, b.index)
    assert back.log_total == tok.log_total and back.replace == {"會": "会"}
