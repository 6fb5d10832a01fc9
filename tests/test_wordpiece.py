"""The runtime's own BERT WordPiece tokenizer: same ids as Hugging Face's, and every unit knows its characters."""
from __future__ import annotations

import json
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raner.errors import ModelError
from raner.manifest import Manifest
from raner.normalize import normalize
from raner.wordpiece import MAX_PIECES_PER_CHAR, WordPieceFeaturizer, basic_words, fold, safe_max_length

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "中", "国", "北", "京", "华", "为", "在", "年", "，", ",", "。",
         "-", ".", "wi", "##fi", "ip", "##hone", "##s", "5", "##g", "20", "##24", "##2", "##4", "2", "4", "3", "##9",
         "##99", "a", "##b", "b", "e", "##e", "cafe", "ibm", "i", "##bm", "x", "$", "unaff", "##able", "##ord"]


@pytest.fixture(scope="module")
def feat() -> WordPieceFeaturizer:
    return WordPieceFeaturizer({t: i for i, t in enumerate(VOCAB)})


def pieces(feat: WordPieceFeaturizer, text: str) -> list[list[str]]:
    """Each unit's tokens, as strings."""
    ids, positions, _ = feat.tokenize(text)
    inv = {i: t for t, i in feat.vocab.items()}
    ends = positions[1:] + [len(ids) - 1]
    return [[inv[i] for i in ids[a:b]] for a, b in zip(positions, ends)]


def test_cjk_latin_digits_and_punctuation(feat):
    text = "华为在北京发布iPhone 5G，Wi-Fi 2024年"
    ids, positions, units = feat.tokenize(text)
    assert ids[0] == feat.cls and ids[-1] == feat.sep
    assert [text[a:b] for a, b in units] == ["华", "为", "在", "北", "京", "发", "布", "iPhone", "5G", "，", "Wi", "-",
                                             "Fi", "2024", "年"]
    assert pieces(feat, text) == [["华"], ["为"], ["在"], ["北"], ["京"], ["[UNK]"], ["[UNK]"], ["ip", "##hone"],
                                  ["5", "##g"], ["，"], ["wi"], ["-"], ["[UNK]"], ["20", "##24"], ["年"]]
    assert all(ids[p] != feat.pad for p in positions)


def test_unknown_characters_keep_offsets(feat):
    text = "龘中☃国x☃y"
    _, _, units = feat.tokenize(text)
    assert [text[a:b] for a, b in units] == ["龘", "中", "☃", "国", "x☃y"]
    assert pieces(feat, text) == [["[UNK]"], ["中"], ["[UNK]"], ["国"], ["[UNK]"]]


def test_full_width_text_through_the_runtime_normalization(feat):
    raw = "ＩＢＭ在２０２４年，Ｗｉ－Ｆｉ"
    text = normalize(raw)
    assert len(text) == len(raw)
    _, _, units = feat.tokenize(text)
    assert [raw[a:b] for a, b in units] == ["ＩＢＭ", "在", "２０２４", "年", "，", "Ｗｉ", "－", "Ｆｉ"]
    assert pieces(feat, text)[0] == ["ibm"] and pieces(feat, text)[2] == ["20", "##24"]


def test_whitespace_accents_and_dropped_characters(feat):
    text = " Café\u200b  caf\u0301e\x00 \tx\u200by ce\u0301"
    _, _, units = feat.tokenize(text)
    assert [text[a:b] for a, b in units] == ["Café", "caf\u0301e", "x\u200by", "ce\u0301"]
    assert pieces(feat, text) == [["cafe"], ["cafe"], ["[UNK]"], ["[UNK]"]]
    assert feat.tokenize("\u200b \x00")[1:] == ([], [])


def test_greedy_longest_match_and_long_words(feat):
    assert pieces(feat, "unaffable")[0] == ["unaff", "##able"]
    # one miss: the word is [UNK]
    assert pieces(feat, "2499 2399 $3") == [["2", "##4", "##99"], ["[UNK]"], ["$"], ["3"]]
    long = "a" + "b" * 100
    ids, positions, units = feat.tokenize(long + " x")
    assert units == [(0, 101), (102, 103)] and ids[1] == feat.unk and len(ids) == 4


def test_lowercase_off_keeps_case_and_accents():
    f = WordPieceFeaturizer({t: i for i, t in enumerate(VOCAB + ["Wi", "é"])}, lowercase=False)
    assert pieces(f, "Wi é") == [["Wi"], ["é"]]
    assert fold("É", True) == "e" and fold("É", False) == "É"


def test_encode_batch_and_units(feat):
    items = [feat.encode("华为在北京"), feat.encode("iPhone 5G")]
    assert items[0].n_units == 5 and items[1].n_units == 2 and len(items[1]) == 6
    assert items[1].char_span(0, 2) == (0, 9) and items[1].char_span(1, 2) == (7, 9)
    batch = feat.batch(items)
    assert set(batch) == {"input_ids", "attention_mask", "token_type_ids"}
    assert batch["input_ids"].shape == (2, 7) and batch["input_ids"].dtype == np.int64
    assert batch["attention_mask"].tolist() == [[1] * 7, [1] * 6 + [0]]
    assert batch["input_ids"][1, 6] == feat.pad and not batch["token_type_ids"].any()


def test_too_many_tokens_is_a_clear_error():
    f = WordPieceFeaturizer({t: i for i, t in enumerate(VOCAB)}, max_tokens=12)
    f.encode("中" * 10)
    with pytest.raises(ValueError, match="more than the model's 12.*max_length"):
        f.encode("中" * 11)


def test_safe_max_length_bound():
    assert safe_max_length(512) == 170
    worst = max(len(fold(chr(cp), True)) for cp in range(0x10000) if not 0xD800 <= cp <= 0xDFFF)
    assert worst == MAX_PIECES_PER_CHAR == len(fold("한", True))
    f = WordPieceFeaturizer({t: i for i, t in enumerate(VOCAB)})
    assert len(f.encode("한" * 170).ids) <= 512


def test_vocabulary_problems_are_model_errors(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n", encoding="utf-8")
    manifest = Manifest(path=tmp_path, name="m", labels=("O",), scheme="BIO", max_length=10, inputs={}, crf="crf.npz",
                        default_variant="fp32", variants={})
    with pytest.raises(ModelError, match="lacks \\[CLS\\], \\[SEP\\]"):
        WordPieceFeaturizer.from_inputs(manifest, {"kind": "wordpiece", "vocab": "vocab.txt"})
    with pytest.raises(ModelError, match="missing"):
        WordPieceFeaturizer.from_inputs(manifest, {"kind": "wordpiece", "vocab": "other.txt"})


# Against Hugging Face's tokenizer (the tokenizers library's BertNormalizer + BertPreTokenizer + WordPiece).
ALPHABET = st.sampled_from(list("中国北京华为在年，,。-.$ wiWIfFpPhHoOnNeEsS5g2034 9abxé\u0301\tＡ１☃龘한"))


@pytest.fixture(scope="module")
def hf():
    transformers = pytest.importorskip("transformers")
    return transformers.BertTokenizer(vocab={t: i for i, t in enumerate(VOCAB)})


def _hf_units(hf, text: str) -> tuple[list[int], list[int], list[tuple[int, int]]]:
    enc = hf(text, return_offsets_mapping=True)
    starts, spans = [], {}
    for i, w in enumerate(enc.word_ids()):
        if w is None:
            continue
        a, b = enc["offset_mapping"][i]
        if w not in spans:
            starts.append(i)
            spans[w] = (a, b)
        spans[w] = (spans[w][0], b)
    return enc["input_ids"], starts, [spans[w] for w in sorted(spans)]


@settings(max_examples=300, deadline=None)
@given(st.text(ALPHABET, max_size=30))
def test_same_tokens_and_words_as_hugging_face(hf, text):
    feat = WordPieceFeaturizer({t: i for i, t in enumerate(VOCAB)})
    ids, positions, units = feat.tokenize(text)
    want_ids, want_positions, want_units = _hf_units(hf, text)
    assert ids == want_ids and positions == want_positions
    # Hugging Face ends a word at its last kept character; ours keeps a trailing combining accent with its letter.
    assert [(a, b - len(text[a:b]) + len(text[a:b].rstrip("\u0301"))) for a, b in units] == want_units


def test_hugging_face_comparison_covers_the_tricky_cases(hf):
    feat = WordPieceFeaturizer({t: i for i, t in enumerate(VOCAB)})
    for text in ["iPhone 5G，Wi-Fi", "Café caf\u0301e", "ＡＢ１２", "한국", "$3.99", "unaffable", "a" * 120,
                 "北京\u200b华为"]:
        ids, positions, units = feat.tokenize(text)
        want = _hf_units(hf, text)
        assert (ids, positions) == want[:2], text
        assert all(unicodedata.category(text[b - 1]) != "Zs" for _, b in units)
    assert json.dumps(basic_words("a b")[0].__dict__) == '{"text": "a", "start": 0, "end": 1}'
