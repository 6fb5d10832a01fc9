"""Train -> export -> quantize -> load, end to end on a tiny model (a few steps on a few sentences)."""
import json

import numpy as np
import pytest

import raner
from compression import export, train
from compression.inputs import featurizer_for, to_tensors
from compression.model import CHECKPOINT, load_tagger

pytestmark = pytest.mark.slow  # every test here reads a model trained and exported for it


@pytest.fixture(scope="module")
def tiny_model(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "tiny"
    recipe = out.parent / "tiny.json"
    recipe.write_text(json.dumps({"epochs": 2, "hidden": 16, "char_dim": 16, "bigram_dim": 8, "heads": 2,
                                  "bigram_min_count": 1}), encoding="utf-8")
    train.main(["--config", str(recipe), "--data", str(tiny_corpus), "--out", str(out), "--threads", "1"])
    export.main([str(out), "--data", str(tiny_corpus)])
    return out


def test_model_directory_is_complete(tiny_model):
    manifest = json.loads((tiny_model / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["variants"]) == {"fp32", "int8", "int8-emb4"}
    for v in manifest["variants"].values():
        assert (tiny_model / v["file"]).stat().st_size == v["size_bytes"]
        assert set(v["metrics"]) == {"dev"}  # a build is scored on dev; the test split reports a release
    assert manifest["variants"]["int8"]["size_bytes"] < manifest["variants"]["fp32"]["size_bytes"]
    assert manifest["checks"]["torch_onnx_fp32_identical_dev_sentences"] == 1.0
    assert manifest["training"]["history"] and manifest["labels"][0] == "O"
    assert manifest["training"]["recipe"]["values"]["hidden"] == 16 and manifest["training"]["args"]["hidden"] == 16
    assert manifest["training"]["command"].startswith("python -m compression.train --config ")


def test_onnx_emissions_match_torch(tiny_model):
    import torch

    model, labels = load_tagger(tiny_model / CHECKPOINT)
    rec = raner.load(tiny_model, variant="fp32")
    texts = ["马云在杭州阿里巴巴总部发表演讲", "今天", "Wi-Fi 7和5G"]
    feat = featurizer_for(tiny_model, True, 16)
    with torch.no_grad():
        batch = to_tensors(feat, texts)
        ref = model.net.run(batch).numpy()
    for i, em in enumerate(rec.emissions(texts)):
        np.testing.assert_allclose(em, ref[i, : len(texts[i])], atol=1e-4)


def test_every_variant_loads_and_predicts_well_formed_spans(tiny_model):
    for variant in ("fp32", "int8"):
        rec = raner.load(tiny_model, variant=variant)
        text = "华为创始人任正非在深圳接受了新华社记者的采访。"
        for e in rec.predict(text):
            assert text[e.start:e.end] == e.text and e.type in ("PER", "LOC", "ORG")


def test_seen_unseen_recall_splits_gold_entities(tiny_model, tiny_corpus):
    from compression.data import Sentence, read_conll
    from compression.evaluate import seen_unseen_recall

    rec = raner.load(tiny_model, cache_size=0)
    test = read_conll(tiny_corpus / "test.txt")
    all_seen = seen_unseen_recall(rec, test, test)  # train == test: every entity is seen
    assert set(all_seen) >= {"seen"} and not any(k.startswith("unseen") for k in all_seen)
    nothing_known = seen_unseen_recall(rec, test, [Sentence("无", ["O"])])
    assert nothing_known["unseen"]["entities"] == all_seen["seen"]["entities"]
    assert nothing_known["unseen"]["recall"] == all_seen["seen"]["recall"]
