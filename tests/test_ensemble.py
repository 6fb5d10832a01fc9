"""The ensemble variant: members run in one graph, emissions and CRF scores averaged, served by the runtime."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # every test here trains and exports its members


def tiny_member(corpus, out, seed: int, hidden: int = 8):
    from compression import export, train

    train.main(["--data", str(corpus), "--out", str(out), "--epochs", "1", "--hidden", str(hidden), "--char-dim", "8",
                "--bigram-dim", "4", "--heads", "1", "--bigram-min-count", "1", "--seed", str(seed)])
    export.main([str(out), "--no-eval"])
    return out


@pytest.fixture(scope="module")
def members(tiny_corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("members")
    return [tiny_member(tiny_corpus, root / "a", 1), tiny_member(tiny_corpus, root / "b", 2, hidden=6)]


def test_ensemble_variant_averages_member_emissions_and_crf(members, tmp_path):
    import raner
    from compression.ensemble import main

    out = tmp_path / "model"
    shutil.copytree(members[0], out)
    main([str(out), *map(str, members), "--variant", "fp32", "--no-eval"])
    raw = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert raw["variants"]["ensemble-fp32"]["crf"] == "crf.ensemble-fp32.npz"
    texts = ["马云在杭州阿里巴巴总部发表演讲", "华为在深圳"]
    ens = raner.load(out, variant="ensemble-fp32", cache_size=0)
    each = [raner.load(m, variant="fp32", cache_size=0).emissions(texts) for m in members]
    for i, got in enumerate(ens.emissions(texts)):
        assert np.allclose(got, (each[0][i] + each[1][i]) / 2, atol=1e-5)
    crf = np.load(out / "crf.ensemble-fp32.npz")
    first, second = np.load(members[0] / "crf.npz"), np.load(members[1] / "crf.npz")
    assert np.allclose(crf["transitions"], (first["transitions"] + second["transitions"]) / 2)
    assert all(e.text == texts[0][e.start:e.end] for e in ens.predict(texts[0]))
    single = raner.load(out, variant="fp32", cache_size=0)  # the model's own variants keep their own CRF
    assert np.allclose(single._crf.start[:1], np.load(out / "crf.npz")["start"][:1])


def test_a_member_with_a_smaller_vocabulary_reads_the_models_ids_through_a_table(members, tmp_path):
    import raner
    from compression.ensemble import main
    from raner.manifest import read_manifest

    out = tmp_path / "model"
    shutil.copytree(members[0], out)
    small = tmp_path / "small"  # members[1] without some characters, as a student with a pruned vocabulary
    shutil.copytree(members[1], small)
    dropped = set("杭州阿里巴巴深圳")
    lines = (small / "vocab.txt").read_text(encoding="utf-8").split("\n")
    assert dropped <= set(lines)
    kept = [f"\ue100{i}" if line in dropped else line for i, line in enumerate(lines)]  # ids of the rest unchanged
    (small / "vocab.txt").write_text("\n".join(kept), encoding="utf-8")
    texts = ["马云在杭州阿里巴巴总部发表演讲", "华为在深圳"]
    main([str(out), f"{members[0]}:fp32", f"{small}:fp32", "--name", "mixed", "--no-eval"])
    ens = raner.load(out, variant="mixed", cache_size=0)
    each = [raner.load(m, variant="fp32", cache_size=0).emissions(texts) for m in (members[0], small)]
    for i, got in enumerate(ens.emissions(texts)):
        assert np.allclose(got, (each[0][i] + each[1][i]) / 2, atol=1e-5)
    assert [m.dir for m in read_manifest(out).variants["mixed"].members] == [f"{members[0]}:fp32", f"{small}:fp32"]


def test_id_remap_sends_entries_the_member_lacks_to_its_unknown_id(tmp_path):
    from compression.ensemble_graph import id_remap

    (tmp_path / "own.txt").write_text("[PAD]\n[UNK]\n甲\n乙\n丙\n", encoding="utf-8")
    (tmp_path / "member.txt").write_text("[PAD]\n丙\n[UNK]\n甲\n", encoding="utf-8")
    assert id_remap(tmp_path / "own.txt", tmp_path / "member.txt").tolist() == [0, 2, 3, 2, 1]
    (tmp_path / "repeats.txt").write_text("[PAD]\n[UNK]\n甲\n甲\n", encoding="utf-8")  # the later 甲 is the one read
    assert id_remap(tmp_path / "repeats.txt", tmp_path / "member.txt").tolist() == [0, 2, 2, 3]
    (tmp_path / "bare.txt").write_text("[PAD]\n甲\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no \\[UNK\\]"):
        id_remap(tmp_path / "own.txt", tmp_path / "bare.txt")


def test_members_with_another_lexicon_are_refused(members, tmp_path):
    from compression.ensemble_graph import MemberSpec, add_ensemble_variant
    from raner.manifest import read_manifest

    out = tmp_path / "model"
    shutil.copytree(members[0], out)
    other = tmp_path / "other"
    shutil.copytree(members[1], other)
    (other / read_manifest(other).inputs["lexicon"]).write_bytes(b"not the same lexicon")
    with pytest.raises(ValueError, match="share the lexicon file"):
        add_ensemble_variant(out, [MemberSpec(members[0], "fp32"), MemberSpec(other, "fp32")], "e", None)


def test_weights_members_share_are_stored_once(members, tmp_path):
    import onnx

    from compression.bilstm_fusion import fuse_bilstm
    from compression.ensemble_graph import merge_graphs
    from compression.word_set_sum import split_word_set_sum

    one = members[0] / "model.fp32.onnx"
    merge_graphs([one, one], tmp_path / "twice.onnx")
    merged, single = onnx.load(str(tmp_path / "twice.onnx")), onnx.load(str(one))
    assert fuse_bilstm(single) == 1  # members are merged in their served form
    split_word_set_sum(single)
    assert len(merged.graph.initializer) == len(single.graph.initializer) + 1  # + the 1/n scale

    def weight_bytes(m) -> int:
        return sum(len(t.raw_data) + 4 * len(t.float_data) + 8 * len(t.int64_data) for t in m.graph.initializer)

    assert weight_bytes(merged) <= weight_bytes(single) + 4
    merge_graphs([one], tmp_path / "once.onnx")  # and the computation runs once: no more nodes than one member's
    assert len(merged.graph.node) == len(onnx.load(str(tmp_path / "once.onnx")).graph.node)


def test_repeated_nodes_run_once_but_random_ones_do_not():
    from onnx import helper

    from compression.ensemble_graph import run_shared_nodes_once

    nodes = [helper.make_node("Add", ["x", "y"], ["a"]), helper.make_node("Add", ["x", "y"], ["b"]),
             helper.make_node("Relu", ["b"], ["c"]), helper.make_node("Relu", ["a"], ["d"]),
             helper.make_node("Sub", ["x", "y"], ["e"]),
             helper.make_node("RandomNormalLike", ["x"], ["r1"]), helper.make_node("RandomNormalLike", ["x"], ["r2"]),
             helper.make_node("Sum", ["c", "d", "e", "r1", "r2"], ["out"])]
    kept = run_shared_nodes_once(nodes)
    assert [n.op_type for n in kept] == ["Add", "Relu", "Sub", "RandomNormalLike", "RandomNormalLike", "Sum"]
    assert list(kept[-1].input) == ["c", "c", "e", "r1", "r2"]  # b is a, so Relu(b) repeats Relu(a): d is c
    # the same node asked for another optional output is not the same node
    drop = [helper.make_node("Dropout", ["x"], ["y1", ""]), helper.make_node("Dropout", ["x"], ["y2", "mask"]),
            helper.make_node("Sum", ["y1", "y2", "mask"], ["out"])]
    assert [n.op_type for n in run_shared_nodes_once(drop)] == ["Dropout", "Dropout", "Sum"]
