"""The corpus readers map MSRA, Weibo, Resume and CLUENER onto the project's guideline; build_corpus writes data the
trainer reads. Tiny inline fixtures for each rule; one slow test reads the real ../shared/data."""

import json
from collections import Counter
from pathlib import Path

import pytest

from compression import build_corpus
from compression.corpora import (
    DEFAULT_CORPORA,
    dedupe,
    drop_celestial_bodies,
    drop_competitions,
    extend_surname_titles,
    fill_country_names,
    places_in,
    read_cluener,
    read_corpora,
    read_msra,
    read_msra_test,
    read_resume,
    read_weibo,
    shares_window,
    split_place,
    tag_bare_surname_titles,
    trim_scenic_areas,
)
from compression.data import Sentence, read_conll
from compression.gazetteer import NAME_LISTS
from raner.spans import tags_to_spans


def ents(s: Sentence) -> list[tuple[str, str]]:
    assert len(s.text) == len(s.tags)
    return [(k, s.text[a:b]) for k, a, b in tags_to_spans(s.tags)]


def conll(rows: list[list[tuple[str, str]]], sep: str = "\t") -> str:
    return "".join("".join(f"{c}{sep}{t}\n" for c, t in sent) + "\n" for sent in rows)


def bio(text: str, marks: dict[str, str]) -> list[tuple[str, str]]:
    """Characters of ``text`` with BIO tags for the substrings in ``marks`` (substring -> type)."""
    tags = ["O"] * len(text)
    for sub, kind in marks.items():
        a = text.index(sub)
        tags[a : a + len(sub)] = [f"B-{kind}"] + [f"I-{kind}"] * (len(sub) - 1)
    return list(zip(text, tags))


MSRA_TRAIN = [
    bio("中美关系和访华代表团", {"中": "LOC", "美": "LOC", "华": "LOC"}),
    bio("李女士和溥杰先生见到梁总", {"李": "PER", "溥杰": "PER", "梁": "PER"}),
    bio("江总书记会见老张和王某", {"江": "PER", "张": "PER", "王": "PER"}),
    bio("南开大学党委和全国总工会在北京开会", {"南开大学党委": "ORG", "全国总工会": "ORG", "北京": "LOC"}),
]


@pytest.fixture
def corpora(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for d in ("msra", "weibo", "resume", "cluener"):
        (root / d).mkdir(parents=True)
    (root / "msra" / "train.txt").write_text(conll(MSRA_TRAIN), encoding="utf-8")
    (root / "msra" / "dev.txt").write_text(conll([bio("中方欢迎陈某", {"中": "LOC", "陈": "PER"})]), encoding="utf-8")
    (root / "msra" / "test.txt").write_text(conll([bio("测试句子不读", {})]), encoding="utf-8")
    weibo = [
        [
            ("张0", "B-PER.NAM"),
            ("三1", "I-PER.NAM"),
            ("在0", "O"),
            ("北0", "B-GPE.NAM"),
            ("京1", "I-GPE.NAM"),
            ("见0", "O"),
            ("小0", "B-PER.NOM"),
            ("编1", "I-PER.NOM"),
            ("p10", "O"),
            ("\ufffd\ufffd0", "O"),
        ],
        [
            ("去0", "O"),
            ("故0", "B-LOC.NAM"),
            ("宫1", "I-LOC.NAM"),
            ("和0", "O"),
            ("医0", "B-ORG.NOM"),
            ("院1", "I-ORG.NOM"),
        ],
    ]
    (root / "weibo" / "train.txt").write_text(conll(weibo), encoding="utf-8")
    (root / "weibo" / "dev.txt").write_text(conll([weibo[1]]), encoding="utf-8")
    resume = [
        [
            ("高", "B-NAME"),
            ("勇", "E-NAME"),
            ("，", "O"),
            ("中", "B-CONT"),
            ("国", "M-CONT"),
            ("国", "M-CONT"),
            ("籍", "E-CONT"),
            ("，", "O"),
            ("浙", "B-LOC"),
            ("江", "M-LOC"),
            ("人", "E-LOC"),
            ("，", "O"),
            ("汉", "B-RACE"),
            ("族", "E-RACE"),
            ("，", "O"),
            ("现", "O"),
            ("任", "O"),
            ("本", "B-ORG"),
            ("公", "M-ORG"),
            ("司", "E-ORG"),
            ("董", "B-TITLE"),
            ("事", "E-TITLE"),
        ],
        [
            ("杨", "S-NAME"),
            ("先", "O"),
            ("生", "O"),
            ("毕", "O"),
            ("业", "O"),
            ("于", "O"),
            ("清", "B-ORG"),
            ("华", "M-ORG"),
            ("大", "M-ORG"),
            ("学", "E-ORG"),
            ("，", "O"),
            ("硕", "B-EDU"),
            ("士", "E-EDU"),
        ],
    ]
    (root / "resume" / "train.txt").write_text(conll(resume, " "), encoding="utf-8")
    (root / "resume" / "dev.txt").write_text(conll([resume[1]], " "), encoding="utf-8")
    rows = [
        {"text": "叶老桂在浙商银行工作", "label": {"name": {"叶老桂": [[0, 2]]}, "company": {"浙商银行": [[4, 7]]}}},
        {"text": "他住在北京市海淀区中关村大街27号", "label": {"address": {"北京市海淀区中关村大街27号": [[3, 16]]}}},
        {
            "text": "玩《魔兽世界》的总经理",
            "label": {"game": {"《魔兽世界》": [[1, 6]]}, "position": {"总经理": [[8, 10]]}},
        },
        {
            "text": "米兰和政府都在洱海",
            "label": {
                "organization": {"米兰": [[0, 1]]},
                "government": {"政府": [[3, 4]]},
                "scene": {"洱海": [[7, 8]]},
            },
        },
        {"text": "地址是潮白河畔的夏威夷水岸1号", "label": {"address": {"潮白河畔的夏威夷水岸1号": [[3, 14]]}}},
        {"text": "他去了美国。", "label": {}},
    ] + [{"text": f"第{i}句没有实体", "label": {}} for i in range(14)]
    (root / "cluener" / "train.json").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return root


def test_msra_drops_single_character_places_and_joins_surname_titles(corpora):
    c = read_msra(corpora)
    assert [ents(s) for s in c.train] == [
        [],
        [("PER", "李女士"), ("PER", "溥杰"), ("PER", "梁总")],
        [("PER", "江"), ("PER", "老张"), ("PER", "王某")],
        [("ORG", "南开大学"), ("ORG", "全国总工会"), ("LOC", "北京")],
    ]
    assert [ents(s) for s in c.dev] == [[("PER", "陈某")]]
    rules = c.stats.rules["train"]
    assert rules["single_char_loc_dropped"] == 3
    assert rules["surname_title_joined"] == 3 and rules["lao_xiao_surname_joined"] == 1
    assert rules["org_subunit_trimmed"] == 1
    assert "测试句子不读" not in {s.text for s in c.train + c.dev}  # test.txt is reserved


def test_celestial_bodies_are_not_places_but_names_holding_one_are():
    text = "太阳照在火星路上，地球人都去了太阳岛"
    spans = [("LOC", 0, 2), ("LOC", 4, 7), ("LOC", 9, 11), ("LOC", 15, 18)]
    assert drop_celestial_bodies(text, spans) == ([("LOC", 4, 7), ("LOC", 15, 18)], 2)
    assert drop_celestial_bodies("太阳能公司", [("ORG", 0, 5)]) == ([("ORG", 0, 5)], 0)


def test_competitions_are_no_organisations_but_their_governing_bodies_are():
    text = "英超和欧冠联赛由欧足联管理"
    spans = [("ORG", 0, 2), ("ORG", 3, 7), ("ORG", 8, 11)]
    assert drop_competitions(text, spans) == ([("ORG", 8, 11)], 2)


def test_scenic_area_nouns_end_outside_the_place():
    text = "黄山风景区和景区都开放，武夷山公园也是"
    spans = [("LOC", 0, 5), ("LOC", 6, 8), ("LOC", 12, 17)]
    assert trim_scenic_areas(text, spans) == ([("LOC", 0, 2), ("LOC", 12, 17)], 1)
    assert trim_scenic_areas("景区", [("ORG", 0, 2)]) == ([("ORG", 0, 2)], 0)


def test_untagged_surname_and_title_become_one_person():
    assert tag_bare_surname_titles("市民吴先生说，张某某和李女士", []) == (
        [("PER", 2, 5), ("PER", 7, 10), ("PER", 11, 14)], 3)
    # 某 as "some", a title after a name or inside a word, a surname already tagged, or no surname: left alone
    for text, spans in [("张某些人", []), ("孙晶孙女士", [("PER", 0, 2), ("PER", 2, 3)]), ("主任先生", []),
                        ("由于先生的", []), ("女士们、先生们", []), ("王王先生", [])]:
        assert tag_bare_surname_titles(text, spans) == (spans, 0), text


def test_surname_title_rule_needs_a_surname_and_a_free_title():
    spans, after, before = extend_surname_titles("欧阳先生和李总理", [("PER", 0, 2), ("PER", 5, 6)])
    assert spans == [("PER", 0, 4), ("PER", 5, 6)] and (after, before) == (1, 0)


def test_weibo_strips_digits_keeps_names_and_maps_gpe(corpora):
    c = read_weibo(corpora)
    first = c.train[0]
    assert first.text == "张三在北京见小编p\ufffd"
    assert ents(first) == [("PER", "张三"), ("LOC", "北京")]
    assert ents(c.train[1]) == [("LOC", "故宫")]
    rules = c.stats.rules["train"]
    assert rules["nominal_dropped"] == 2 and rules["gpe_to_loc"] == 1 and rules["odd_token_cut_to_one_char"] == 1


def test_resume_bmes_nationality_origin_generic_org_and_dropped_types(corpora):
    c = read_resume(corpora)
    assert c.train[0].text == "高勇，中国国籍，浙江人，汉族，现任本公司董事"
    assert ents(c.train[0]) == [("PER", "高勇"), ("LOC", "中国"), ("LOC", "浙江")]
    assert ents(c.train[1]) == [("PER", "杨先生"), ("ORG", "清华大学")]
    rules = c.stats.rules["train"]
    assert rules["generic_org_dropped"] == 1 and rules["cont_trimmed"] == 1 and rules["loc_trimmed"] == 1
    assert rules["title_dropped"] == 1 and rules["race_dropped"] == 1 and rules["edu_dropped"] == 1


def test_cluener_offsets_types_addresses_and_carved_dev(corpora):
    c = read_cluener(corpora, dev_size=5, seed=1)
    again = read_cluener(corpora, dev_size=5, seed=1)
    assert [s.text for s in c.dev] == [s.text for s in again.dev]  # fixed selection
    assert not {s.text for s in c.dev} & {s.text for s in c.train}
    got = {s.text: ents(s) for s in c.train + c.dev}
    assert got["叶老桂在浙商银行工作"] == [("PER", "叶老桂"), ("ORG", "浙商银行")]
    assert got["他住在北京市海淀区中关村大街27号"] == [("LOC", "北京市"), ("LOC", "海淀区"), ("LOC", "中关村大街")]
    assert got["玩《魔兽世界》的总经理"] == []
    assert got["米兰和政府都在洱海"] == [("ORG", "米兰"), ("LOC", "洱海")]
    assert got["他去了美国。"] == [("LOC", "美国")]
    assert "地址是潮白河畔的夏威夷水岸1号" not in got  # an address it cannot split: the sentence goes
    assert len(c.train) + len(c.dev) == 19
    total = sum(c.stats.rules.values(), Counter())
    assert total["sentence_dropped_unreadable_address"] == 1 and total["generic_dropped"] == 1
    assert total["game_dropped"] == 1 and total["position_dropped"] == 1 and total["country_name_filled"] == 1


def test_address_splitting():
    assert split_place("广西南宁") == [(0, 2), (2, 4)]
    assert split_place("北京金融大街17号营业部") == [(0, 2), (2, 6)]
    assert split_place("上海地区") == [(0, 2)]
    assert places_in("香港特别行政区", 0, 7) == ([("LOC", 0, 7)], "whole")
    assert places_in("索维拉", 0, 3) == ([("LOC", 0, 3)], "whole")  # one place, nothing to split
    assert places_in("北京大学百年讲堂", 0, 8)[0] == [("LOC", 0, 8)]  # not 北京 | 大学百年讲堂
    assert places_in("潮白河畔的夏威夷水岸1号", 0, 12) == ([], "unreadable")


def test_country_names_filled_only_where_plain():
    text = "美国的《日本》和中国人民银行"
    assert fill_country_names(text, [False] * len(text)) == [("LOC", 0, 2)]


def test_dedupe_and_window_check():
    train = [Sentence("１９９７年北京", ["O"] * 7), Sentence("别的句子", ["O"] * 4)]
    held = [Sentence("1997年北京", ["O"] * 7)]
    assert [s.text for s in dedupe(train, held)] == ["别的句子"]  # full width equals half width
    a = ["甲乙丙丁戊己庚辛壬癸子丑寅", "甲乙丙丁戊己庚辛壬癸子", "无关"]
    b = ["xx甲乙丙丁戊己庚辛壬癸子丑yy"]
    assert shares_window(a, b) == [0]  # the second shares only 11 characters
    short = ["新华社北京电", "新华社电"]
    assert shares_window(short, ["新华社北京电", "新华社北京电十二日讯"]) == [0]  # a short text: only as a whole text
    assert shares_window(a, b, n=11) == [0, 1]


def test_build_corpus_writes_what_the_trainer_reads(corpora, tmp_path, capsys):
    out = tmp_path / "multi"
    build_corpus.main(["--data", str(corpora), "--out", str(out), "--weights", "weibo=3,cluener=0"])
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    train = read_conll(out / "train.txt")
    dev = read_conll(out / "dev.txt")
    texts = [s.text for s in train]
    # weibo's second post is its dev post: dropped from train; the first is written three times
    assert texts.count("张三在北京见小编p\ufffd") == 3 and "去故宫和医院" not in texts
    assert stats["corpora"]["weibo"]["train_dropped_identical_to_dev"] == 1
    assert stats["corpora"]["resume"]["train_dropped_identical_to_dev"] == 1
    assert len(train) == stats["train_sentences_written"] == 4 + 3 + 1  # msra 4, weibo 1 x 3, resume 1
    assert len(read_conll(out / "dev.cluener.txt")) == 19  # 20 lines carved into a 1,000-sentence dev, 1 dropped
    per_corpus = sum(len(read_conll(out / f"dev.{n}.txt")) for n in ("msra", "weibo", "resume", "cluener"))
    assert len(dev) == per_corpus == stats["dev_sentences_written"]
    assert {t for s in train + dev for t in s.tags} <= {"O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"}
    assert "wrote" in capsys.readouterr().out
    assert not (out / "test.txt").exists()  # the reserved split only on request
    with pytest.raises(SystemExit):
        build_corpus.main(["--out", str(out), "--weights", "boson=1"])


def test_reserved_msra_test_is_mapped_like_train_and_only_on_request(corpora, tmp_path):
    (corpora / "msra" / "test.txt").write_text(
        conll([bio("中方欢迎陈某", {"中": "LOC", "陈": "PER"}), MSRA_TRAIN[1]]), encoding="utf-8")
    assert [ents(s) for s in read_msra_test(corpora)][0] == [("PER", "陈某")]  # the rules train and dev follow
    out = tmp_path / "multi"
    build_corpus.main(["--data", str(corpora), "--out", str(out), "--test"])
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert [s.text for s in read_conll(out / "test.txt")] == ["中方欢迎陈某"]  # the repeat of a train sentence goes
    assert stats["msra_test"]["dropped_identical_to_train"] == 1


@pytest.mark.slow
def test_real_corpora_counts_are_sane():
    if not (DEFAULT_CORPORA / "cluener" / "train.json").is_file():
        pytest.skip(f"corpora not found at {DEFAULT_CORPORA}")
    c = read_corpora()
    assert (len(c["msra"].train), len(c["msra"].dev)) == (46742, 3000)
    assert (len(c["weibo"].train), len(c["weibo"].dev)) == (1350, 270)
    assert (len(c["resume"].train), len(c["resume"].dev)) == (3821, 463)
    cl = c["cluener"]
    dropped = sum(cl.stats.rules[s]["sentence_dropped_unreadable_address"] for s in ("train", "dev"))
    assert len(cl.train) + len(cl.dev) + dropped == 10748 and 900 <= len(cl.dev) <= 1000 and dropped < 400
    assert c["msra"].stats.rules["train"]["single_char_loc_dropped"] == 5170
    assert c["msra"].stats.rules["train"]["celestial_body_loc_dropped"] == 271
    msra = c["msra"].stats.entities["train"]
    tagged = c["msra"].stats.rules["train"]["bare_surname_title_tagged"]
    assert (msra["PER"] - tagged, msra["LOC"] + 5170 + 271, msra["ORG"]) == (15647, 32568, 18300)  # the README's
    for corpus in c.values():
        for s in corpus.train[:2000] + corpus.dev:
            assert len(s.text) == len(s.tags) and all(len(k) == 3 for k, _, _ in tags_to_spans(s.tags))
        kinds = corpus.stats.entities["train"]
        assert min(kinds["PER"], kinds["LOC"], kinds["ORG"]) > 150


@pytest.mark.slow
def test_no_extra_text_repeats_a_reserved_sentence():
    """The unlabelled headlines (distillation) and the organisation name lists (lexicon) share no 12-character window,
    nor a whole short sentence, with MSRA test: the reserved split that is here."""
    headlines = DEFAULT_CORPORA / "unlabeled" / "nlpcc2017-headlines.txt"
    if not headlines.is_file() or not (DEFAULT_CORPORA / "msra" / "test.txt").is_file():
        pytest.skip(f"corpora not found at {DEFAULT_CORPORA}")
    test = [s.text for s in read_msra_test()]
    extra = headlines.read_text(encoding="utf-8").splitlines()
    for names in NAME_LISTS:
        extra += names.read_text(encoding="utf-8").splitlines()
    assert shares_window(test, [t for t in extra if t.strip()]) == []
