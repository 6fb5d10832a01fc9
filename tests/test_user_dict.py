import pytest

import raner
from raner import Entity, UserDictionary


def test_longest_match_first_and_no_overlaps():
    d = UserDictionary({"阿里": "ORG", "阿里巴巴": "ORG", "巴巴集团": "ORG", "杭州": "LOC"})
    found = d.find("杭州阿里巴巴集团")
    assert [(e.text, e.type, e.start, e.end) for e in found] == [("杭州", "LOC", 0, 2), ("阿里巴巴", "ORG", 2, 6)]


def test_offsets_are_into_the_original_text_and_fullwidth_matches():
    d = UserDictionary({"OpenAI": "ORG"})
    text = "😀ＯｐｅｎＡＩ发布"
    (e,) = d.find(text)
    assert text[e.start:e.end] == e.text == "ＯｐｅｎＡＩ" and e.start == 1


def test_dictionary_wins_overlaps_and_keeps_other_entities():
    d = UserDictionary({"杭州阿里巴巴": "ORG"})
    model = [Entity("马云", "PER", 0, 2), Entity("杭州", "LOC", 3, 5), Entity("阿里巴巴总部", "ORG", 5, 11)]
    out = d.apply("马云在杭州阿里巴巴总部", model)
    assert [(e.text, e.type) for e in out] == [("马云", "PER"), ("杭州阿里巴巴", "ORG")]


def test_nested_entries_take_the_outer_match():
    d = UserDictionary({"北京": "LOC", "北京大学": "ORG"})
    assert [e.text for e in d.find("北京大学在北京")] == ["北京大学", "北京"]


def test_file_format_and_bad_types(tmp_path):
    p = tmp_path / "dict.txt"
    p.write_text("# comment\n字节跳动 ORG\n梁汝波 PER\n\n", encoding="utf-8")
    assert UserDictionary.read(p, ["PER", "LOC", "ORG"]).words == {"字节跳动": "ORG", "梁汝波": "PER"}
    with pytest.raises(ValueError, match="XYZ"):
        UserDictionary({"a": "XYZ"}, ["PER"])
    with pytest.raises(ValueError):
        UserDictionary.parse("只有一个词")


def test_recognizer_applies_the_dictionary(tmp_path):
    p = tmp_path / "d.txt"
    p.write_text("梁汝波 PER\n字节跳动 ORG\n", encoding="utf-8")
    rec = raner.load(user_dict=p, cache_size=0)
    text = "字节跳动首席执行官梁汝波在北京出席了年度员工大会。"
    ents = rec.predict(text)
    assert ("字节跳动", "ORG") in [(e.text, e.type) for e in ents]
    assert ("梁汝波", "PER") in [(e.text, e.type) for e in ents]
    assert all(text[e.start:e.end] == e.text for e in ents)
    with pytest.raises(ValueError):
        raner.load(user_dict={"x": "FOO"})


def test_apply_keeps_exactly_the_model_entities_no_match_overlaps():
    """The sweep over sorted matches gives what checking every pair would (random words, texts and entities)."""
    import random

    rng = random.Random(0)
    for _ in range(200):
        text = "".join(rng.choice("甲乙丙丁戊") for _ in range(rng.randint(0, 40)))
        ud = UserDictionary({"".join(rng.choice("甲乙丙丁戊") for _ in range(rng.randint(1, 4))): "LOC"
                             for _ in range(rng.randint(1, 5))})
        model = []
        for _ in range(rng.randint(0, 8)):
            a = rng.randint(0, max(len(text) - 1, 0))
            b = min(len(text), a + rng.randint(1, 5))
            if a < b:
                model.append(Entity(text[a:b], "PER", a, b, 0.9))
        forced = ud.find(text)
        expected = sorted(forced + [e for e in model if not any(e.start < f.end and f.start < e.end for f in forced)],
                          key=lambda e: e.start)
        assert ud.apply(text, model) == (expected if forced else model)
