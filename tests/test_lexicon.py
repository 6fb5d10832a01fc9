import numpy as np

from raner.lexicon import Lexicon


def lexicon():
    return Lexicon({"杭州": 0b0101, "阿里巴巴": 0b1001, "里巴": 0b0001}, ["WORD", "PER", "LOC", "ORG"])


def test_matches_all_words():
    assert lexicon().matches("杭州阿里巴巴") == [(0, 2, 0b0101), (2, 6, 0b1001), (3, 5, 0b0001)]


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
