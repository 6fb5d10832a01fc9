"""The word-set sum rewritten as Gathers and a Sum computes exactly the emissions the exported ReduceSum did."""
import numpy as np
import onnx
import pytest
import torch

from compression.graph_edit import rewrite_file
from compression.model import WORD_SET_SIZE, NetConfig, Tagger
from compression.onnx_info import op_counts
from compression.quantization import quantize
from compression.word_set_sum import split_word_set_sum

from .conftest import run_graph


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("word_sets")
    torch.manual_seed(0)
    cfg = NetConfig(n_chars=300, n_bigrams=500, lexicon_width=4, n_tags=7, char_dim=16, bigram_dim=8, hidden=12,
                    heads=2, head_dim=4, dropout=0.0, n_words=20000, word_dim=8)
    Tagger(cfg, sparse=False).eval().net.export_onnx(d / "fp32.onnx")
    quantize(d / "fp32.onnx", d / "int8.onnx")
    quantize(d / "fp32.onnx", d / "emb4.onnx", table_bits=4)  # the 20,000-row word table in 4-bit blocks
    rng = np.random.default_rng(5)
    chars = rng.integers(1, 300, (1, 13))
    words = rng.integers(0, 20000, (1, 13, 4, WORD_SET_SIZE))
    words[rng.random(words.shape) < 0.6] = 0  # most slots empty, as in text
    feeds = {"chars": chars, "bigrams": chars, "lexicon": rng.integers(0, 2, (1, 13, 4)).astype(np.float32),
             "lengths": np.array([13]), "lexwords": words}
    return d, feeds


@pytest.mark.parametrize("variant", ["fp32", "int8", "emb4"])
def test_rewritten_graph_has_no_reduce_sum_over_the_sets_and_the_same_emissions(exported, tmp_path, variant):
    d, feeds = exported
    before = op_counts(d / f"{variant}.onnx")
    path = tmp_path / f"{variant}.onnx"
    path.write_bytes((d / f"{variant}.onnx").read_bytes())
    assert rewrite_file(path, split_word_set_sum) == [1]
    after = op_counts(path)
    assert after.get("ReduceSum", 0) == before["ReduceSum"] - 1 and after["Sum"] == before.get("Sum", 0) + 1
    np.testing.assert_array_equal(run_graph(path, feeds), run_graph(d / f"{variant}.onnx", feeds))
    assert rewrite_file(path, split_word_set_sum) == [0]  # already rewritten: left as it is


def test_a_graph_without_word_sets_is_left_alone():
    graph = onnx.helper.make_graph([onnx.helper.make_node("ReduceSum", ["x"], ["y"], keepdims=0)], "g",
                                   [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])],
                                   [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [])])
    model = onnx.helper.make_model(graph)
    assert split_word_set_sum(model) == 0 and [n.op_type for n in model.graph.node] == ["ReduceSum"]
