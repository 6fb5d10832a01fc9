"""The lexicon file: jieba's typed words, LAC's embedding ids, and LAC's own entity types as separate categories."""
from compression.gazetteer import CATEGORIES, build_lexicon, categories_for
from raner.lexicon import Lexicon


def test_jieba_types_lac_ids_and_lac_types(tmp_path):
    jieba = tmp_path / "dict.txt"
    jieba.write_text("阿里巴巴 82 nrt\n杭州 5000 ns\n的 9999 uj\n总部 300 n\n稀有 3 a\n", encoding="utf-8")
    out = tmp_path / "lexicon.tsv"
    build_lexicon(out, source=jieba, lac_words=["阿里巴巴", "ＡＢ", "x"],
                  lac_types={"阿里巴巴": "ORG", "字节跳动": "ORG", "马": "PER"})
    lines = dict(line.split("\t", 1) for line in out.read_text(encoding="utf-8").splitlines())
    assert lines["阿里巴巴"] == "WORD,PER,LAC_ORG\t1"  # jieba says person, LAC says organisation: both kept, apart
    assert lines["字节跳动"] == "LAC_ORG" and lines["杭州"] == "WORD,LOC" and lines["总部"] == "WORD"
    assert lines["AB"] == "\t2"  # normalized; an embedding id without a category
    assert "稀有" not in lines and "的" not in lines and "马" not in lines  # rare, single character
    lex = Lexicon.read(out, categories_for(28))
    assert lex.width == 28 and lex.words["阿里巴巴"] == 1 | (1 << 1) | (1 << CATEGORIES.index("LAC_ORG"))


def test_categories_are_a_prefix_chosen_by_width():
    assert categories_for(16) == ("WORD", "PER", "LOC", "ORG") and categories_for(0) == ()
    assert categories_for(28) == CATEGORIES
