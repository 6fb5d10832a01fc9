"""Quantized variants: 4-bit block-quantized embedding tables and float16 storage of the GRU weights."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import helper, numpy_helper

from compression.model import NetConfig, Tagger
from compression.onnx_info import op_counts, parameter_count
from compression.quantization import block_quantize_tables, pack_4bit, quantize, quantize_rows_4bit


def test_4bit_codes_reconstruct_within_half_a_step_and_keep_zero_rows_exact():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(50, 64)).astype(np.float32)
    table[0] = 0  # a padding row
    codes, scales, zeros = quantize_rows_4bit(table, 32)
    assert codes.max() <= 15 and scales.shape == zeros.shape == (50, 2)
    back = ((codes.reshape(50, 2, 32).astype(np.float32) - zeros[..., None]) * scales[..., None]).reshape(50, 64)
    assert np.all(np.abs(back - table) <= np.repeat(scales, 32, axis=1) / 2 + 1e-6)
    assert np.all(back[0] == 0)
    assert pack_4bit(np.array([[1, 2, 15, 0]], np.uint8)).tolist() == [[0x21, 0x0F]]


def test_gather_block_quantized_reads_our_packing():
    rng = np.random.default_rng(1)
    table = rng.normal(size=(1200, 64)).astype(np.float32)
    node = helper.make_node("Gather", ["table", "ids"], ["out"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("ids", onnx.TensorProto.INT64, [None, None])],
                              [helper.make_tensor_value_info("out", onnx.TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(table, "table")])
    model = block_quantize_tables(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), 32, 1000)
    assert [n.op_type for n in model.graph.node] == ["GatherBlockQuantized"]
    ids = np.array([[0, 7, 1199]], np.int64)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"ids": ids})[0]
    codes, scales, zeros = quantize_rows_4bit(table, 32)
    want = ((codes.reshape(1200, 2, 32).astype(np.float32) - zeros[..., None]) * scales[..., None]).reshape(1200, 64)
    np.testing.assert_allclose(got[0], want[ids[0]], atol=1e-6)


@pytest.mark.slow
def test_emb4_variant_is_smaller_and_computes_nearly_the_same(tmp_path):
    torch.manual_seed(0)
    cfg = NetConfig(n_chars=1500, n_bigrams=20000, lexicon_width=0, n_tags=7, char_dim=32, bigram_dim=32, hidden=8,
                    heads=2, head_dim=4, dropout=0.0, lac_dim=256)
    model = Tagger(cfg, sparse=False).eval()
    with torch.no_grad():
        for p in model.net.lac.parameters():
            p.normal_(0, 0.1)
    model.net.export_onnx(tmp_path / "fp32.onnx")
    quantize(tmp_path / "fp32.onnx", tmp_path / "int8.onnx")
    info = quantize(tmp_path / "fp32.onnx", tmp_path / "emb4.onnx", table_bits=4)
    ops = op_counts(tmp_path / "emb4.onnx")
    assert ops["GatherBlockQuantized"] == 1 and ops["GRU"] == 2 and ops["Cast"] >= 4  # the bigram table; fp16 GRUs
    assert info["ops_after"]["DynamicQuantizeLSTM"] == 2  # the LSTMs are still int8 after the swap
    assert (tmp_path / "emb4.onnx").stat().st_size < 0.75 * (tmp_path / "int8.onnx").stat().st_size
    assert parameter_count(tmp_path / "emb4.onnx") == parameter_count(tmp_path / "fp32.onnx")
    chars = np.random.default_rng(2).integers(1, 1500, (2, 9))
    feeds = {"chars": chars, "bigrams": chars, "lexicon": np.zeros((2, 9, 0), np.float32), "lengths": np.array([9, 6])}
    runs = {}
    for name in ("fp32", "emb4"):
        sess = ort.InferenceSession(str(tmp_path / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        runs[name] = sess.run(None, {i.name: feeds[i.name] for i in sess.get_inputs()})[0]
    scale = np.abs(runs["fp32"]).mean()
    assert np.abs(runs["emb4"] - runs["fp32"]).mean() < 0.2 * scale
