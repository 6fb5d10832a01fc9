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


def test_company_names_lose_their_market_marks(tmp_path):
    from compression.gazetteer import company_names

    listed = tmp_path / "companies.txt"
    listed.write_text("# header\n万  科Ａ\n*ST华仪\n退市金泰\n寒武纪-U\nTCL科技\n深康佳B\nS*ST前锋A\nAB\n万科A\n",
                      encoding="utf-8")
    assert company_names([listed]) == ["万科", "华仪", "金泰", "寒武纪", "TCL科技", "深康佳", "前锋"]


def test_companies_join_the_organisation_categories_unless_typed_or_common(tmp_path):
    from compression.gazetteer import companies_to_add, with_companies, word_types

    lex = Lexicon({"张家界": 1 << CATEGORIES.index("LOC"), "比亚迪": 1 << CATEGORIES.index("PER"), "腾讯": 1},
                  CATEGORIES, word_ids={"腾讯": 7})
    jieba = {"农产品": (1572, "n"), "神州数码": (3, "n"), "腾讯": (98, "nz")}
    names = ["张家界", "比亚迪", "农产品", "白云机场", "神州数码", "腾讯", "宁德时代"]
    chosen = companies_to_add(names, word_types(lex), jieba)
    assert chosen == ["神州数码", "腾讯", "宁德时代"]
    org = sum(1 << CATEGORIES.index(c) for c in ("WORD", "ORG", "LAC_ORG"))
    added = with_companies(lex, chosen)
    assert added.words["宁德时代"] == org and added.words["腾讯"] == org  # masks OR-ed in
    assert added.words["张家界"] == lex.words["张家界"] and len(added) == len(lex) + 2
    assert added.word_sets("腾讯")[0, 0, 0] == 7  # embedding ids kept
    assert added.features("宁德时代的")[0, CATEGORIES.index("ORG") * 4] == 1.0  # B of ORG at 宁
    again = with_companies(added, chosen)
    again_file, added_file = tmp_path / "a.npz", tmp_path / "b.npz"
    again.write_packed(again_file)
    added.write_packed(added_file)
    assert again_file.read_bytes() == added_file.read_bytes()  # adding twice changes nothing


def test_build_lexicon_adds_companies_as_the_served_lexicon_would(tmp_path):
    jieba = tmp_path / "dict.txt"
    jieba.write_text("杭州 5000 ns\n总部 300 n\n", encoding="utf-8")
    for lac_types, cats in (({"华为": "ORG"}, "WORD,ORG,LAC_ORG"), (None, "WORD,ORG")):
        out = tmp_path / "lexicon.tsv"
        build_lexicon(out, source=jieba, lac_types=lac_types, companies=["宁德时代", "杭州", "总部", "华为"])
        lines = dict(line.split("\t", 1) for line in out.read_text(encoding="utf-8").splitlines())
        assert lines["宁德时代"] == cats and lines["杭州"] == "WORD,LOC" and lines["总部"] == "WORD"
        assert lines["华为"] == (cats if lac_types else "WORD,ORG")  # LAC's own ORG kept; a company either way


def test_a_word_spelt_twice_keeps_the_categories_of_both_lines(tmp_path):
    jieba = tmp_path / "dict.txt"
    # the second spelling of each word normalizes to the first (a traditional character)
    jieba.write_text("嘴唇 500 n\n嘴脣 3 n\n台风 800 n\n颱風 2 nr\n", encoding="utf-8")
    out = tmp_path / "lexicon.tsv"
    build_lexicon(out, source=jieba)
    lines = dict(line.split("\t", 1) for line in out.read_text(encoding="utf-8").splitlines())
    assert lines["嘴唇"] == "WORD" and lines["台风"] == "WORD,PER"


def test_a_name_list_is_written_or_checked(tmp_path, capsys):
    from compression.gazetteer import write_name_list

    path = tmp_path / "names.txt"
    assert write_name_list(path, "# header\n甲乙\n", check=True) is False and not path.exists()  # check never writes
    assert write_name_list(path, "# header\n甲乙\n") is False and path.read_text(encoding="utf-8") == "# header\n甲乙\n"
    assert "1 names" in capsys.readouterr().out
    assert write_name_list(path, "# header\n甲乙\n", check=True) is True
    assert write_name_list(path, "# header\n丙丁\n", check=True) is False


def test_the_listed_companies_script_reads_adatas_table(tmp_path, monkeypatch):
    import zipfile

    from scripts import listed_companies as script

    wheel = tmp_path / "adata-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(script.MEMBER, "stock_code,short_name,list_date\n000001,平安银行,1991\n000002,万  科Ａ,1991\n")
    monkeypatch.setattr(script, "OUT", tmp_path / "listed.txt")
    script.main([str(wheel)])
    assert (tmp_path / "listed.txt").read_text(encoding="utf-8").splitlines()[2:] == ["平安银行", "万  科Ａ"]
