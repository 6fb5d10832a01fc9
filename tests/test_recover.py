"""Rebuilding a training checkpoint from an exported fp32 graph gives the same tags as the graph."""
from __future__ import annotations

import pytest
import torch


@pytest.mark.slow
def test_recovered_checkpoint_reproduces_the_exported_emissions(tiny_corpus, tmp_path):
    import raner
    from compression import export, recover, train
    from compression.inputs import featurizer_for, to_tensors
    from compression.model import load_tagger
    from raner.normalize import normalize

    out = tmp_path / "tiny"
    train.main(["--data", str(tiny_corpus), "--out", str(out), "--epochs", "1", "--hidden", "8", "--char-dim", "8",
                "--bigram-dim", "4", "--heads", "2", "--bigram-min-count", "1"])
    export.main([str(out), "--no-eval"])
    original = torch.load(out / "checkpoint.pt", weights_only=False)["state_dict"]
    rebuilt_path = recover.recover(out, tmp_path / "rebuilt.pt")
    model, _ = load_tagger(rebuilt_path)
    rebuilt = model.state_dict()
    assert set(rebuilt) == set(original)
    for name, value in original.items():
        assert torch.allclose(rebuilt[name], value, atol=1e-6), name
    texts = [normalize("马云在杭州阿里巴巴总部发表演讲")]
    cfg = model.net.cfg
    batch = to_tensors(featurizer_for(out, cfg.n_bigrams > 0, cfg.lexicon_width), texts)
    with torch.no_grad():
        ours = model.net.run(batch)[0].numpy()
    theirs = raner.load(out, variant="fp32", cache_size=0).emissions(texts)[0]
    assert abs(ours - theirs).max() < 1e-4
    # a released graph (its LSTMs fused into one bidirectional node) gives back the same weights
    from compression.bilstm_fusion import fuse_bilstm
    from compression.graph_edit import rewrite_file

    assert rewrite_file(out / "model.fp32.onnx", fuse_bilstm) == [1]
    again, _ = load_tagger(recover.recover(out, tmp_path / "rebuilt-fused.pt"))
    for name, value in again.state_dict().items():
        assert torch.equal(value, rebuilt[name]), name


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "unfused"])
def test_a_quantized_graph_reads_back_to_within_a_quantization_step(tmp_path, fused):
    """As release serves it (both directions one node) and as prune writes it (a node a direction, whose int8 LSTM
    weights carry the plain ``_quantized`` names)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    from compression.bilstm_fusion import fuse_bilstm
    from compression.graph_edit import rewrite_file
    from compression.model import NetConfig, Tagger
    from compression.quantization import quantize
    from compression.recover import dequantized

    torch.manual_seed(0)
    cfg = NetConfig(n_chars=300, n_bigrams=12000, lexicon_width=4, n_tags=7, char_dim=16, bigram_dim=32, hidden=12,
                    heads=2, head_dim=4, dropout=0.0, n_words=12000, word_dim=32)
    Tagger(cfg, sparse=False).eval().net.export_onnx(tmp_path / "fp32.onnx")
    quantize(tmp_path / "fp32.onnx", tmp_path / "emb4.onnx", table_bits=4)  # int8 weights, 4-bit big tables
    if fused:
        for name in ("fp32", "emb4"):
            rewrite_file(tmp_path / f"{name}.onnx", fuse_bilstm)
    exact = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(tmp_path / "fp32.onnx")).graph.initializer}
    quantized = onnx.load(str(tmp_path / "emb4.onnx")).graph
    back = dequantized(quantized)
    kinds = {i.name.rsplit("_", 1)[-1] for i in quantized.initializer}
    lstm_ops = [n for n in quantized.node if n.op_type == "DynamicQuantizeLSTM"]
    assert len(lstm_ops) == (1 if fused else 2)
    assert {"q4", "quantized"} <= kinds and all(n.input[1].removesuffix("_quantized") in back for n in lstm_ops)
    for name, value in exact.items():
        if value.dtype != np.float32 or value.size < 2:
            continue
        assert back[name].shape == value.shape, name
        step = (value.max() - min(value.min(), 0)) / (15 if name.endswith("emb.weight") and len(value) >= 10000
                                                      else 255)
        assert np.abs(back[name] - value).max() <= step * 1.01 + 1e-7, name
