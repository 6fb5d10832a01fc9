"""Training-data augmentation and relabelling: substitution, place + organisation + facility rewrites, rosters of
names and the 总部 convention keep tags aligned."""
import random

import pytest

from compression.augment import (
    BRANCH_NOUNS,
    FACILITIES,
    add_lexicon_entities,
    entity_pool,
    latin_entity,
    latin_name,
    lexicon_brands,
    name_list,
    place_org_facility,
    split_facilities,
    substitute,
)
from compression.data import Sentence
from raner.spans import tags_to_spans

S = Sentence("李鹏在国务院讲话", ["B-PER", "I-PER", "O", "B-ORG", "I-ORG", "I-ORG", "O", "O"])


def entities(s: Sentence) -> list[tuple[str, str]]:
    assert len(s.text) == len(s.tags)
    return [(k, s.text[a:b]) for k, a, b in tags_to_spans(s.tags)]


def test_substitute_swaps_entities_of_the_same_type():
    out = substitute(S, {"PER": ["王小明"], "ORG": ["字节跳动"]}, random.Random(0), rate=1.0)
    assert out.text == "王小明在字节跳动讲话" and entities(out) == [("PER", "王小明"), ("ORG", "字节跳动")]


def test_place_org_facility_tags_each_part_on_its_own():
    out = place_org_facility(S, {"LOC": ["杭州"], "ORG": ["阿里巴巴"]}, random.Random(0))
    facility = next(f for f in FACILITIES if f in out.text)
    assert out.text == f"李鹏在杭州阿里巴巴{facility}讲话"
    assert entities(out) == [("PER", "李鹏"), ("LOC", "杭州"), ("ORG", "阿里巴巴")]
    no_org = Sentence("他讲话", ["O", "O", "O"])
    assert place_org_facility(no_org, {"LOC": ["杭州"], "ORG": ["阿里巴巴"]}, random.Random(0)) is no_org


def test_lexicon_pool_prefers_lacs_type_over_jiebas(tmp_path):
    lex = tmp_path / "lexicon.tsv"
    lex.write_text("阿里巴巴\tWORD,PER,LAC_ORG\t1\n王小明\tPER\n北京\tWORD,LOC,LAC_LOC\n", encoding="utf-8")
    pool = add_lexicon_entities(entity_pool([S]), lex)
    assert pool["ORG"] == ["国务院", "阿里巴巴"] and pool["PER"] == ["李鹏", "王小明"] and pool["LOC"] == ["北京"]


def test_brand_rewrites_cover_a_lone_brand_and_each_part_on_its_own(tmp_path):
    lex = tmp_path / "lexicon.tsv"
    lex.write_text("华为\tWORD,PER,LAC_ORG\t1\n王小明\tPER\n腾讯\tLAC_ORG\n", encoding="utf-8")
    brands = lexicon_brands(lex)
    assert brands == ["华为", "腾讯"]
    seen = set()
    for seed in range(40):
        out = place_org_facility(S, {"LOC": ["杭州"]}, random.Random(seed), brands, optional_parts=True)
        kinds = tuple(k for k, _ in entities(out))
        assert kinds in {("PER", "ORG"), ("PER", "LOC", "ORG")} and entities(out)[-1][1] in brands
        seen.add((kinds, any(f in out.text for f in FACILITIES)))
    assert len(seen) == 4  # with and without the place, with and without the facility noun


def test_name_list_turns_one_person_into_a_roster_of_persons():
    joined = set()
    for seed in range(30):
        out = name_list(S, {"PER": ["王小明", "欧阳娜娜"]}, random.Random(seed))
        names = [e for e in entities(out) if e[0] == "PER"]
        assert 2 <= len(names) <= 4 and names[0] == ("PER", "李鹏") and ("ORG", "国务院") in entities(out)
        assert out.text.endswith("在国务院讲话")
        joined.add("、" in out.text)
    assert joined == {True, False}  # both the bare roster and the 、-separated one
    no_person = Sentence("他讲话", ["O", "O", "O"])
    assert name_list(no_person, {"PER": ["王小明"]}, random.Random(0)) is no_person


def tagged(text: str, spans: list[tuple[str, int, int]]) -> Sentence:
    tags = ["O"] * len(text)
    for kind, a, b in spans:
        tags[a:b] = [f"B-{kind}"] + [f"I-{kind}"] * (b - a - 1)
    return Sentence(text, tags)


def test_latin_entity_writes_one_entity_in_latin_letters_with_its_type():
    rng = random.Random(3)
    seen = set()
    for _ in range(200):
        out = latin_entity(S, rng)
        found = entities(out)
        assert [k for k, _ in found] == ["PER", "ORG"]  # same types, same order, other text around them unchanged
        changed = [name for (k, name), (_, old) in zip(found, entities(S)) if name != old]
        assert len(changed) == 1 and changed[0].isascii() and changed[0][0].isupper()
        assert out.text.replace(changed[0], "X") in {"X在国务院讲话", "李鹏在X讲话"}
        seen.add(changed[0])
    assert len(seen) > 100  # made up afresh, not drawn from a short list
    names = [latin_name("PER", rng) for _ in range(100)]
    assert sum(" " in n for n in names) > 50  # mostly "First Last"
    assert latin_entity(Sentence("今天天气很好", ["O"] * 6), rng).text == "今天天气很好"  # nothing to replace


def test_split_facilities_takes_the_headquarters_noun_and_a_known_place_out_of_the_organisation():
    places, orgs = {"纽约", "中国"}, {"联合国", "欧盟", "中国人民解放军"}
    out = split_facilities(tagged("他在纽约联合国总部讲话", [("ORG", 2, 9)]), places, orgs)
    assert entities(out) == [("LOC", "纽约"), ("ORG", "联合国")]
    assert entities(split_facilities(tagged("欧盟总部在布鲁塞尔", [("ORG", 0, 4)]), places, orgs)) == [("ORG", "欧盟")]
    # a known organisation is not split at a place name it starts with
    kept = split_facilities(tagged("中国人民解放军总部", [("ORG", 0, 9)]), places, orgs)
    assert entities(kept) == [("ORG", "中国人民解放军")]
    unknown = tagged("解放军四总部发出通知", [("ORG", 0, 6)])  # the rest is no known organisation: MSRA's reading stays
    assert split_facilities(unknown, places, orgs) is unknown


def test_split_facilities_with_branch_nouns_takes_a_place_after_the_organisation_out_too():
    places, orgs = {"山东省", "深圳"}, {"中国银行", "招商银行", "华为"}
    out = split_facilities(tagged("他任中国银行山东省分行行长", [("ORG", 2, 11)]), places, orgs, BRANCH_NOUNS, True)
    assert entities(out) == [("ORG", "中国银行"), ("LOC", "山东省")]
    out = split_facilities(tagged("深圳招商银行支行", [("ORG", 0, 8)]), places, orgs, BRANCH_NOUNS, True)
    assert entities(out) == [("LOC", "深圳"), ("ORG", "招商银行")]
    base = split_facilities(tagged("华为基地", [("ORG", 0, 4)]), places, orgs, BRANCH_NOUNS)
    assert entities(base) == [("ORG", "华为")]
    # without the branch nouns and places after (the older recipes) a branch stays whole, and so does 联合国纽约总部;
    # an unknown rest keeps the corpus's reading
    whole = tagged("中国银行山东省分行", [("ORG", 0, 9)])
    assert split_facilities(whole, places, orgs) is whole
    un = tagged("联合国纽约总部", [("ORG", 0, 7)])
    assert split_facilities(un, {"纽约"}, {"联合国"}) is un
    after = split_facilities(un, {"纽约"}, {"联合国"}, place_after=True)
    assert entities(after) == [("ORG", "联合国"), ("LOC", "纽约")]
    unknown = tagged("物资分公司", [("ORG", 0, 5)])
    assert split_facilities(unknown, places, orgs, BRANCH_NOUNS) is unknown


def test_headquarters_share_sets_how_often_the_facility_noun_is_zongbu():
    pool = {"LOC": ["杭州"], "ORG": ["阿里巴巴"]}
    rewritten = [place_org_facility(S, pool, random.Random(seed), headquarters=0.5).text for seed in range(200)]
    nouns = [next(f for f in FACILITIES if f in text) for text in rewritten]
    assert 0.45 < nouns.count("总部") / len(nouns) < 0.75  # half directly, plus 1/8 of the other half


@pytest.mark.slow
def test_training_runs_with_the_roster_latin_and_headquarters_options(tiny_corpus, tmp_path):
    from compression import train

    out = tmp_path / "tiny"
    train.main(["--data", str(tiny_corpus), "--out", str(out), "--epochs", "2", "--hidden", "8", "--char-dim", "8",
                "--bigram-dim", "4", "--heads", "1", "--bigram-min-count", "1", "--augment-name-lists", "0.5",
                "--augment-latin", "0.5", "--split-facilities", "--keep-epochs"])
    assert all((out / name).is_file() for name in ("checkpoint.epoch1.pt", "checkpoint.epoch2.pt", "checkpoint.pt"))
