"""The tagger's two one-way LSTMs fused into one bidirectional node compute the same emissions."""
import numpy as np
import onnx
import pytest
import torch

from compression.bilstm_fusion import fuse_bilstm
from compression.graph_edit import rewrite_file
from compression.model import NetConfig, Tagger
from compression.onnx_info import op_counts
from compression.quantization import quantize

from .conftest import run_graph


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("bilstm")
    torch.manual_seed(0)
    cfg = NetConfig(n_chars=300, n_bigrams=500, lexicon_width=0, n_tags=7, char_dim=16, bigram_dim=8, hidden=12,
                    heads=2, head_dim=4, dropout=0.0)
    Tagger(cfg, sparse=False).eval().net.export_onnx(d / "fp32.onnx")
    quantize(d / "fp32.onnx", d / "int8.onnx")
    rng = np.random.default_rng(3)
    chars = rng.integers(1, 300, (3, 11))
    lengths = np.array([11, 7, 1])
    for b, n in enumerate(lengths):
        chars[b, n:] = 0
    feeds = {"chars": chars, "bigrams": chars, "lexicon": np.zeros((3, 11, 0), np.float32), "lengths": lengths}
    return d, feeds, lengths


@pytest.mark.parametrize("variant, lstm", [("fp32", "LSTM"), ("int8", "DynamicQuantizeLSTM")])
def test_fused_graph_has_one_bidirectional_lstm_and_the_same_emissions(exported, tmp_path, variant, lstm):
    d, feeds, lengths = exported
    before = op_counts(d / f"{variant}.onnx")
    fused_path = tmp_path / f"{variant}.onnx"
    fused_path.write_bytes((d / f"{variant}.onnx").read_bytes())
    assert rewrite_file(fused_path, fuse_bilstm) == [1]
    after = op_counts(fused_path)
    assert before[lstm] == 2 and after[lstm] == 1 and "GatherElements" not in after
    assert sum(after.values()) < sum(before.values()) - 15
    node = next(n for n in onnx.load(str(fused_path)).graph.node if n.op_type == lstm)
    assert onnx.helper.get_attribute_value(next(a for a in node.attribute if a.name == "direction")) == b"bidirectional"
    if variant == "fp32":  # a padded batch: every real position as before (float math, same order)
        want, got = run_graph(d / "fp32.onnx", feeds), run_graph(fused_path, feeds)
        for b, n in enumerate(lengths):
            np.testing.assert_allclose(got[b, :n], want[b, :n], rtol=1e-5, atol=1e-5)
    # one sentence a call (how INT8 variants run: their activation scales are per call): exactly the same numbers
    for b, n in enumerate(lengths):
        one = {k: (v[b : b + 1, :n] if k != "lengths" else v[b : b + 1]) for k, v in feeds.items()}
        np.testing.assert_array_equal(run_graph(fused_path, one), run_graph(d / f"{variant}.onnx", one))
    assert rewrite_file(fused_path, fuse_bilstm) == [0]  # already fused: left as it is


def test_lstms_that_do_not_start_from_zeros_are_refused(exported):
    d, _, _ = exported
    model = onnx.load(str(d / "fp32.onnx"))
    fwd = next(n for n in model.graph.node if n.op_type == "LSTM" and n.name.startswith("/fwd/"))
    start = next(n for n in model.graph.node if n.output[0] == fwd.input[5])
    value = next(a for a in start.attribute if a.name == "value")
    value.t.CopyFrom(onnx.numpy_helper.from_array(np.array([0.5], np.float32)))
    with pytest.raises(ValueError, match="not zeros"):
        fuse_bilstm(model)


def test_a_graph_without_the_pair_is_left_alone():
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "g",
                                   [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
                                   [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    model = onnx.helper.make_model(graph)
    assert fuse_bilstm(model) == 0 and [n.op_type for n in model.graph.node] == ["Relu"]
