"""The runtime on the shipped model: offsets, batching, long text, caching, errors."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import raner
from raner.manifest import read_manifest
from raner.markup import read_marked_file

from .conftest import ROOT, SHIPPED

TEXTS = [
    "马云在杭州阿里巴巴总部发表演讲",
    "１９９７年，ＮＢＡ球星乔丹访问了北京。",
    "😀张三在上海😀，李四在北京。",
    "  \t华为公司在深圳  \n 新华社报道  ",
    "Apple和微软的CEO在纽约会面。",
    "e\u0301\u200b王五\u202e在广州\u0000。",
]


@pytest.fixture(scope="module")
def rec():
    return raner.load()


def check_offsets(text, entities):
    for e in entities:
        assert text[e.start:e.end] == e.text
        assert e.type in ("PER", "LOC", "ORG")
        assert 0 <= e.start < e.end <= len(text)
    starts = [e.start for e in entities]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(entities, entities[1:]))


def test_default_load_serves_the_default_variant(rec):
    assert rec.variant == rec.manifest.default_variant == rec.variants[0]
    assert "fp32" in rec.variants and len(rec.variants) >= 2
    assert rec.types == ("LOC", "ORG", "PER")


@pytest.mark.parametrize("text", TEXTS)
def test_offsets_point_into_the_original_text(rec, text):
    check_offsets(text, rec.predict(text))


def test_finds_entities_in_plain_news(rec):
    ents = rec.predict("新华社北京电，国务院总理在人民大会堂会见了美国客人。")
    assert {e.type for e in ents} >= {"ORG", "LOC"}


def test_fullwidth_and_halfwidth_give_the_same_entities(rec):
    a = rec.predict("１９９８年江泽民在北京会见了克林顿。")
    b = rec.predict("1998年江泽民在北京会见了克林顿。")
    assert [(e.type, e.start, e.end) for e in a] == [(e.type, e.start, e.end) for e in b]


def test_batch_equals_one_by_one_in_fp32():
    texts = [t for t, _ in read_marked_file(ROOT / "samples" / "news.txt")] + TEXTS
    fresh = raner.load(variant="fp32", cache_size=0)
    assert fresh.predict_batch(texts) == [fresh.predict(t) for t in texts]


def test_batching_never_moves_dynamic_int8_results():
    """Dynamic INT8 quantizes activations per batch, so the runtime runs such a variant's pieces alone: a text's
    entities and scores do not depend on its batch-mates."""
    texts = [t for t, _ in read_marked_file(ROOT / "samples" / "news.txt")] + TEXTS
    dynamic = [n for n, v in raner.load().manifest.variants.items() if not v.batch_invariant]
    assert dynamic, "the shipped model has no dynamically quantized variant: this test checks nothing"
    for name in dynamic:
        fresh = raner.load(variant=name, cache_size=0, scores=True)
        assert fresh.predict_batch(texts) == [fresh.predict(t) for t in texts], name


def test_empty_and_whitespace(rec):
    assert rec.predict("") == []
    assert rec.predict(" \n\t ") == []
    assert rec.predict_batch([]) == []


def test_long_text_is_split_and_stitched(rec):
    sentence = "华为创始人任正非在深圳接受了新华社记者的采访。"
    one = rec.predict(sentence)
    assert one
    text = sentence * 60
    assert len(text) > 5 * rec.manifest.max_length
    ents = rec.predict(text)
    check_offsets(text, ents)
    assert len(ents) == 60 * len(one)
    assert ents[-1].end > len(text) - len(sentence)


def test_long_text_without_punctuation_is_not_truncated(rec):
    text = "张三李四王五在北京上海广州开会" * 40
    ents = rec.predict(text)
    check_offsets(text, ents)
    assert max(e.end for e in ents) > rec.manifest.max_length * 2


def test_bad_types_raise_clear_errors(rec):
    with pytest.raises(TypeError, match="str"):
        rec.predict(42)
    with pytest.raises(TypeError, match="list"):
        rec.predict_batch("一个字符串")
    with pytest.raises(raner.UnknownVariantError, match="fp32"):
        raner.load(variant="nope")
    for bad in ({"batch_size": 0}, {"batch_size": -1}, {"threads": 0}, {"batch_size": 2.5}, {"cache_size": None}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            raner.load(**bad)


def test_any_iterable_of_texts_is_read_once(rec):
    """A generator was consumed by the type check and came back as no results at all."""
    texts = ["马云在杭州阿里巴巴总部发表演讲", "李彦宏在北京"]
    expected = rec.predict_batch(texts)
    assert expected[0] and rec.predict_batch(t for t in texts) == expected
    assert rec.predict_batch(map(str.strip, texts)) == expected


def test_result_cache_is_per_variant_and_bounded():
    a = raner.load(variant="fp32", cache_size=2)
    b = a.with_variant(a.manifest.default_variant)
    text = "马云在杭州阿里巴巴总部发表演讲"
    a.predict(text)
    a.predict(text)
    assert a.cache_info()["hits"] == 1 and b.cache_info()["hits"] == 0
    b.predict(text)
    assert b.cache_info()["misses"] == 1
    for t in ("一", "二", "三"):
        a.predict(t)
    assert a.cache_info()["size"] == 2


def test_runtime_never_imports_torch():
    code = ("import sys, raner; raner.load().predict('马云在杭州'); "
            "bad = [m for m in ('torch', 'transformers', 'modelscope') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def copy_model(tmp_path):
    dst = tmp_path / "m"
    shutil.copytree(SHIPPED, dst, ignore=shutil.ignore_patterns("*.pt"))
    return dst


def test_missing_model_directory_names_the_rebuild_command(tmp_path):
    with pytest.raises(raner.ModelError, match="make model"):
        raner.load(tmp_path / "absent")


def test_corrupt_onnx_file_is_a_clear_error(tmp_path):
    m = copy_model(tmp_path)
    (m / "model.fp32.onnx").write_bytes(b"not a model")
    with pytest.raises(raner.ModelError, match="model.fp32.onnx"):
        raner.load(m, variant="fp32")


def test_manifest_naming_a_missing_file(tmp_path):
    m = copy_model(tmp_path)
    raw = json.loads((m / "manifest.json").read_text(encoding="utf-8"))
    raw["variants"]["ghost"] = {"file": "ghost.onnx"}
    (m / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(raner.ModelError, match="ghost.onnx"):
        raner.load(m, variant="ghost")
    manifest = read_manifest(m)
    vocab = manifest.variant_inputs(manifest.default_variant)["vocab"]  # the file the default variant reads
    (m / vocab).unlink()
    raner.recognizer.clear_loaded()
    with pytest.raises(raner.ModelError, match=vocab.replace(".", r"\.")):
        raner.load(m)


def test_broken_manifest_json(tmp_path):
    m = copy_model(tmp_path)
    (m / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(raner.ModelError, match="manifest.json"):
        raner.load(m)


def test_scores_are_span_probabilities_and_optional():
    text = "华为创始人任正非在深圳接受了新华社记者的采访。"
    plain = raner.load(cache_size=0).predict(text)
    scored = raner.load(cache_size=0, scores=True).predict(text)
    assert plain == scored and plain
    assert all(e.score is None for e in plain)
    assert all(0.0 < e.score <= 1.0 for e in scored)
    assert "score" in scored[0].to_dict() and "score" not in plain[0].to_dict()


def test_no_entity_begins_or_ends_with_a_space(monkeypatch):
    """Emissions that tag every character of the text as one person: the entity the runtime returns stops at the
    letters, never at the spaces around them, and a span of spaces alone is no entity."""
    rec = raner.load(cache_size=0)
    labels = rec.manifest.labels
    begin, inside = labels.index("B-PER"), labels.index("I-PER")

    def all_person(encoded, each_alone=False):
        steps = max(len(e) for e in encoded)
        out = np.zeros((len(encoded), steps, len(labels)), dtype=np.float32)
        out[:, 0, begin] = out[:, 1:, begin if each_alone else inside] = 50.0
        return out

    monkeypatch.setattr(rec, "_emit", all_person)
    assert [(e.text, e.start) for e in rec.predict("  周杰伦 ")] == [("周杰伦", 2)]
    assert [(e.text, e.start) for e in rec.predict("Sam Altman\t")] == [("Sam Altman", 0)]
    monkeypatch.setattr(rec, "_emit", lambda encoded: all_person(encoded, each_alone=True))
    assert [(e.text, e.start) for e in rec.predict("王 五")] == [("王", 0), ("五", 2)]


def test_time_variants_runs_blocks_of_one_variant_in_turn():
    from raner.benchmark import time_variants

    calls = []

    class Fake:
        def __init__(self, name):
            self.name = name

        def with_options(self, **_):
            return self

        def predict_batch(self, texts):
            calls.append(self.name)

    fakes = {"a": Fake("a"), "b": Fake("b")}
    timings = time_variants(fakes, ["文本"], repeats=5, warmup=1, block=2)
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 2 + ["a", "b"]  # warm-up, then blocks (the last one short)
    assert [t.repeats for t in timings] == [5, 5]
    calls.clear()
    time_variants(fakes, ["文本"], repeats=3, warmup=0)
    assert calls == ["a", "b"] * 3  # block 1: call by call
    with pytest.raises(ValueError, match="block"):
        time_variants(fakes, ["文本"], block=0)
