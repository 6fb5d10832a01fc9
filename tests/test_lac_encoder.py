"""LAC's encoder without Paddle: the LoDTensor reader, the GRU weight mapping, and its ONNX export."""
import struct

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from compression.lac_encoder import onnx_gru_weights
from compression.lac_files import read_lod_tensor
from compression.model import NetConfig, Tagger
from compression.recurrent import gru_loop


def lod_file(path, array: np.ndarray, packed: bool) -> None:
    """A LoDTensor file as Paddle writes it: version, lod level, tensor version, TensorDesc protobuf, data."""
    desc = bytes([0x08, 5])  # field 1 (data type) = FP32
    if packed:
        dims = b"".join(bytes([d]) for d in array.shape)
        desc += bytes([0x12, len(dims)]) + dims
    else:
        desc += b"".join(bytes([0x10, d]) for d in array.shape)
    path.write_bytes(struct.pack("<IQI", 0, 0, 0) + struct.pack("<i", len(desc)) + desc + array.astype("<f4").tobytes())


@pytest.mark.parametrize("packed", [True, False])
def test_lod_tensor_round_trip(tmp_path, packed):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    lod_file(tmp_path / "w", a, packed)
    np.testing.assert_array_equal(read_lod_tensor(tmp_path / "w"), a)


def lac_gru_reference(x, fc_w, fc_b, gru_w, gru_b):
    """LAC's dynamic_gru as its documentation states it, straight from the Paddle layout."""
    d = gru_w.shape[0]
    flat = gru_w.reshape(-1)
    w_ur, w_c = flat[: 2 * d * d].reshape(d, 2 * d), flat[2 * d * d :].reshape(d, d)
    proj = x @ fc_w + fc_b + gru_b.reshape(-1)
    h = np.zeros((x.shape[0], d), np.float32)
    out = []
    for t in range(x.shape[1]):
        gates = 1 / (1 + np.exp(-(proj[:, t, : 2 * d] + h @ w_ur)))
        u, r = gates[:, :d], gates[:, d:]
        c = np.tanh(proj[:, t, 2 * d :] + (r * h) @ w_c)
        h = (1 - u) * h + u * c
        out.append(h)
    return np.stack(out, 1)


def test_onnx_gate_mapping_computes_lacs_gru():
    rng = np.random.default_rng(0)
    d, n_in = 5, 3
    fc_w, fc_b = rng.normal(size=(n_in, 3 * d)).astype(np.float32), rng.normal(size=3 * d).astype(np.float32)
    gru_w, gru_b = rng.normal(size=(d, 3 * d)).astype(np.float32), rng.normal(size=(1, 3 * d)).astype(np.float32)
    x = rng.normal(size=(2, 6, n_in)).astype(np.float32)
    w, r, wb, rb = (torch.from_numpy(a) for a in onnx_gru_weights(fc_w, fc_b, gru_w, gru_b))
    ours = gru_loop(torch.from_numpy(x), w, r, wb, rb).numpy()
    np.testing.assert_allclose(ours, lac_gru_reference(x, fc_w, fc_b, gru_w, gru_b), atol=1e-5)


def random_lac_tagger(seed: int, heads: int, lac_rows: int = 0, both: bool = False) -> Tagger:
    """A tiny tagger whose (normally frozen, pretrained) LAC encoder gets random weights."""
    torch.manual_seed(seed)
    cfg = NetConfig(n_chars=20, n_bigrams=0, lexicon_width=0, n_tags=7, char_dim=8, hidden=6, heads=heads, head_dim=3,
                    dropout=0.0, lac_dim=256, lac_rows=lac_rows, lac_char_view=both)
    model = Tagger(cfg, sparse=False)
    with torch.no_grad():
        for p in model.net.lac.parameters():
            p.normal_(0, 0.3)
    return model.eval()


@pytest.mark.slow
def test_lac_encoder_exports_as_onnx_gru(tmp_path):
    model = random_lac_tagger(0, heads=2)
    model.net.export_onnx(tmp_path / "m.onnx")
    chars = torch.randint(1, 20, (3, 9))
    lengths = torch.tensor([9, 5, 1])
    inputs = {"chars": chars, "bigrams": torch.zeros_like(chars), "lexicon": torch.zeros(3, 9, 0), "lengths": lengths}
    with torch.no_grad():
        want = model.net(*inputs.values()).numpy()
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    nodes = onnx.load(str(tmp_path / "m.onnx")).graph.node
    assert sum(n.op_type == "GRU" for n in nodes) == 2  # one bidirectional GRU per layer
    got = sess.run(None, {i.name: inputs[i.name].numpy() for i in sess.get_inputs()})[0]
    mask = np.arange(9)[None] < lengths.numpy()[:, None]
    np.testing.assert_allclose(got[mask], want[mask], atol=1e-4)
    # the backward direction reads only the valid steps: padding cannot leak into a shorter sentence
    with torch.no_grad():
        alone = model.net(chars[1:2, :5], inputs["bigrams"][1:2, :5], torch.zeros(1, 5, 0), lengths[1:2]).numpy()
    np.testing.assert_allclose(want[1, :5], alone[0], atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("both", [False, True])
def test_word_level_lac_states_reach_each_character_of_their_token(tmp_path, both):
    """With ``lac_rows`` the encoder reads LAC tokens (gathered back per character); ONNX agrees with torch.
    ``both``: a second encoder reads the characters too (two more GRU nodes)."""
    model = random_lac_tagger(1, heads=0, lac_rows=30, both=both)
    if both:
        with torch.no_grad():
            for p in model.net.lac_chars.parameters():
                p.normal_(0, 0.3)
    model.net.export_onnx(tmp_path / "w.onnx")
    chars = torch.randint(1, 20, (2, 6))
    inputs = {"chars": chars, "bigrams": torch.zeros_like(chars), "lexicon": torch.zeros(2, 6, 0),
              "lengths": torch.tensor([6, 3]), "lexwords": torch.zeros(2, 6, 4, 4, dtype=torch.long),
              "lac_ids": torch.tensor([[5, 9, 2, 7], [3, 4, 0, 0]]), "lac_lengths": torch.tensor([4, 2]),
              "lac_index": torch.tensor([[0, 1, 1, 2, 3, 3], [0, 0, 1, 0, 0, 0]])}
    with torch.no_grad():
        want = model.net(*inputs.values()).numpy()
        states = model.net.lac(inputs["lac_ids"], inputs["lac_lengths"])
    sess = ort.InferenceSession(str(tmp_path / "w.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {i.name: inputs[i.name].numpy() for i in sess.get_inputs()})[0]
    mask = np.arange(6)[None] < inputs["lengths"].numpy()[:, None]
    np.testing.assert_allclose(got[mask], want[mask], atol=1e-4)
    assert sum(n.op_type == "GRU" for n in onnx.load(str(tmp_path / "w.onnx")).graph.node) == 2 + 2 * both
    assert states.shape == (2, 4, 256) and not torch.allclose(states[0, 1], states[0, 2])  # one state per token


@pytest.mark.slow
def test_fine_tuned_layers_learn_and_still_export_as_gru_nodes(tmp_path):
    """--lac-tune: the top layer gets gradients (the same function as the frozen path), the rest stays frozen,
    and the exported graph keeps one ONNX GRU per layer."""
    model = random_lac_tagger(2, heads=0)
    chars, lengths = torch.randint(1, 20, (2, 7)), torch.tensor([7, 4])
    with torch.no_grad():
        frozen = model.net.lac(chars, lengths)
    model.net.lac.tune(1)
    tuned = model.net.lac(chars, lengths)
    torch.testing.assert_close(tuned, frozen, atol=1e-5, rtol=0)
    tuned[0, :7].sum().backward()
    enc = model.net.lac
    assert enc.w[1].grad is not None and enc.w[1].grad.abs().sum() > 0
    assert enc.w[0].grad is None and not enc.emb.weight.requires_grad
    model.net.export_onnx(tmp_path / "t.onnx")
    assert sum(n.op_type == "GRU" for n in onnx.load(str(tmp_path / "t.onnx")).graph.node) == 2


def test_lac_folder_is_found_inside_the_download_folder(tmp_path):
    from compression.lac_files import lac_model_dir

    inner = tmp_path / "LAC-2.1.2" / "LAC" / "lac_model"
    (inner / "conf").mkdir(parents=True)
    (inner / "conf" / "word.dic").write_text("0\t \n", encoding="utf-8")
    assert lac_model_dir(tmp_path) == inner == lac_model_dir(inner) == lac_model_dir(inner.parent)
    with pytest.raises(FileNotFoundError, match="compression.lac --download"):
        lac_model_dir(tmp_path / "missing")


@pytest.mark.slow
def test_accelerated_frozen_encoder_computes_the_torch_function():
    model = random_lac_tagger(3, heads=0)
    chars, lengths = torch.randint(1, 20, (3, 8)), torch.tensor([8, 5, 1])
    with torch.no_grad():
        want = model.net.lac(chars, lengths)
    model.net.lac.accelerate()
    got = model.net.lac(chars, lengths)
    mask = torch.arange(8)[None] < lengths[:, None]
    torch.testing.assert_close(got[mask], want[mask], atol=1e-4, rtol=0)
