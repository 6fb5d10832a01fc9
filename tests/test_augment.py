"""Training-data augmentation: entity substitution and place + organisation + facility rewrites keep tags aligned."""
import random

from compression.augment import FACILITIES, add_lexicon_entities, entity_pool, lexicon_brands, place_org_facility, substitute
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
