import numpy as np
import pytest

from raner.bigrams import BigramTable
from raner.features import END, PAD, SPACE, UNK, Featurizer, bigram_keys, read_table, write_table
from raner.lexicon import Lexicon


def featurizer():
    chars = {k: i for i, k in enumerate([PAD, UNK, "[CLS]", "[SEP]", SPACE, "马", "云"])}
    bigrams = {PAD: 0, UNK: 1, "马云": 2, "云" + END: 3}
    return Featurizer(chars, bigrams, Lexicon({"马云": 2}, ["WORD", "PER"]))


def test_encode_ids_unknowns_and_spaces():
    e = featurizer().encode("马云 x")
    assert list(e.ids) == [5, 6, 4, 1]
    assert list(e.bigrams) == [2, 1, 1, 1]
    assert e.lexicon.shape == (4, 8) and e.lexicon[0, 4] == 1 and e.lexicon[1, 6] == 1


def test_batch_pads_and_reports_lengths():
    f = featurizer()
    batch = f.batch([f.encode("马云"), f.encode("云")])
    assert batch["chars"].tolist() == [[5, 6], [6, 0]]
    assert batch["lengths"].tolist() == [2, 1]
    assert batch["lexicon"].shape == (2, 2, 8)
    assert batch["bigrams"][1].tolist() == [3, 0]


def test_bigram_keys_mark_the_end():
    assert bigram_keys("abc") == ["ab", "bc", "c" + END]
    assert bigram_keys("") == []


def test_table_round_trip_keeps_spaces(tmp_path):
    write_table(tmp_path / "v.txt", [PAD, UNK, " ", "a"])
    assert read_table(tmp_path / "v.txt") == {PAD: 0, UNK: 1, " ": 2, "a": 3}
    with pytest.raises(ValueError):
        write_table(tmp_path / "w.txt", ["a\nb"])


def test_vocabulary_without_unk_is_refused():
    with pytest.raises(ValueError, match="UNK"):
        Featurizer({PAD: 0})
    assert np.asarray(featurizer().encode("").ids).shape == (0,)


def test_bigram_table_reads_a_vocabulary_file_as_read_table_does(tmp_path):
    entries = [PAD, UNK, "马云", "云" + END, " 北", "𠀀北", "马云", "x"]  # a repeat: the later id wins, as in a dict
    write_table(tmp_path / "b.txt", entries)
    table, expected = BigramTable.read(tmp_path / "b.txt"), read_table(tmp_path / "b.txt")
    assert len(table) == len(expected) and all(table.get(k) == i for k, i in expected.items())
    assert table.get("北京") is None and table.get("[SEP]", 9) == 9 and "马云" in table
    codes = np.array([ord(c) for c in "𠀀北马云"])
    following = np.append(codes[1:], ord(END))
    assert table.lookup(codes, following, 1).tolist() == [5, 1, 6, 3]
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    assert len(BigramTable.read(tmp_path / "empty.txt")) == 0 and BigramTable.from_dict(expected).get("马云") == 6
