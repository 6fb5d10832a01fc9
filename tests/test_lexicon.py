import numpy as np
import pytest

from raner.lexicon import Lexicon
from raner.packed import pack_strings


def lexicon():
    return Lexicon({"杭州": 0b0101, "阿里巴巴": 0b1001, "里巴": 0b0001}, ["WORD", "PER", "LOC", "ORG"])


def test_matches_all_words():
    assert lexicon().matches("杭州阿里巴巴") == [(0, 2, 0b0101, 0), (2, 6, 0b1001, 0), (3, 5, 0b0001, 0)]


def test_features_mark_b_m_e_per_category():
    f = lexicon().features("在杭州阿里巴巴")
    assert f.shape == (7, 16)
    # LOC is category 2: columns 8..11 (B, M, E, S)
    assert f[1, 8] == 1 and f[2, 10] == 1 and f[1:3, 8:12].sum() == 2
    # ORG (category 3) over 阿里巴巴: B at 3, M at 4-5, E at 6
    assert list(f[3:7, 12:15].argmax(1)) == [0, 1, 1, 2]
    assert f[0].sum() == 0


def test_read_file(tmp_path):
    p = tmp_path / "lex.tsv"
    p.write_text("北京\tWORD,LOC\n马云\tPER\n怪\tUNKNOWNCAT\n", encoding="utf-8")
    lex = Lexicon.read(p, ["WORD", "PER", "LOC", "ORG"])
    assert lex.words == {"北京": 0b0101, "马云": 0b0010}
    assert np.asarray(lex.features("")).shape == (0, 16)


def test_word_sets_list_embedding_ids_longest_first():
    lex = Lexicon({"杭州": 1}, ["WORD"], word_ids={"杭州": 3, "阿里巴巴": 7, "里巴": 9, "巴": 4}, set_size=2)
    sets = lex.word_sets("杭州阿里巴巴")
    assert sets.shape == (6, 4, 2)
    assert sets[0, 0].tolist() == [3, 0] and sets[1, 2].tolist() == [3, 0]
    assert sets[2, 0].tolist() == [7, 0] and sets[5, 2].tolist() == [7, 0]
    assert sets[3, 1].tolist() == [7, 0] and sets[3, 0].tolist() == [9, 0]
    assert sets[4, 1].tolist() == [7, 0] and sets[4, 2].tolist() == [9, 0] and sets[4, 3].tolist() == [4, 0]
    assert sets[5, 3].tolist() == [4, 0]


def test_read_file_with_embedding_ids(tmp_path):
    p = tmp_path / "lex.tsv"
    p.write_text("北京\tLOC\t5\n马云\t\t6\n", encoding="utf-8")
    lex = Lexicon.read(p, ["WORD", "PER", "LOC", "ORG"])
    assert lex.has_word_ids and lex.words == {"北京": 0b0100}
    assert lex.matches("马云在北京") == [(0, 2, 0, 6), (3, 5, 0b0100, 5)]


def test_matches_astral_characters_words_longer_than_the_text_and_round_trips(tmp_path):
    lex = Lexicon({"𠀀北": 1, "北京大学": 4, "京": 2}, ["WORD", "PER", "LOC"], word_ids={"北京大学": 7})
    assert lex.matches("𠀀北京") == [(0, 2, 1, 0), (2, 3, 2, 0)]
    assert lex.matches("北京大") == [(1, 2, 2, 0)] and lex.matches("") == []
    lex.write_packed(tmp_path / "lex.npz")
    again = Lexicon.read(tmp_path / "lex.npz", ["WORD", "PER", "LOC"])
    assert again.words == lex.words and again.matches("在北京大学") == [(1, 5, 4, 7), (2, 3, 2, 0)]
    assert again.word_sets("北京大学").tolist() == lex.word_sets("北京大学").tolist()


def test_a_long_max_word_len_a_repeated_packed_word_and_a_line_break(tmp_path):
    assert Lexicon({"北京": 1}, ["LOC"], max_word_len=5).matches("北京xxxxx") == [(0, 2, 1, 0)]
    with pytest.raises(ValueError, match="line break"):
        Lexicon({"a\nb": 1, "c": 1}, ["LOC"])
    with open(tmp_path / "dup.npz", "wb") as f:  # a word listed twice: the later entry wins, as in a dict
        np.savez(f, words=pack_strings(["北京", "上海", "北京"]), masks=np.array([1, 1, 2], np.int32),
                 ids=np.array([0, 0, 0], np.int32), categories=np.array(["LOC", "ORG"]), has_ids=np.array(False),
                 max_word_len=np.array(2))
    lex = Lexicon.read(tmp_path / "dup.npz", ["LOC", "ORG"])
    assert len(lex) == 2 and lex.matches("北京上海") == [(0, 2, 2, 0), (2, 4, 1, 0)]
