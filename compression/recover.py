"""Rebuild a training checkpoint from a model directory's fp32 ONNX graph, so a shipped model can be fine-tuned
without the run folder it came from.

The exporter renames some weights (``onnx::LSTM_423``) and lays LSTM gates out in ONNX order; a released graph also
has its two LSTMs fused into one bidirectional node (weights stacked per direction). The mapping is learnt, not
hard-coded: a twin network with random weights is exported (and fused, when the graph is) the same way and each
graph weight is matched to the torch parameter it came from.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from raner.manifest import read_manifest

from .bilstm_fusion import FUSED_LSTM, fuse_bilstm
from .model import NetConfig, Tagger

ONNX_TO_TORCH_GATES = (0, 2, 3, 1)  # ONNX LSTM gates i, o, f, c; torch wants i, f, c(g), o


def _lstm_to_torch(w: np.ndarray) -> np.ndarray:
    """[1, 4H, X] (ONNX gate order) -> [4H, X] (torch gate order)."""
    blocks = np.split(w[0], 4, axis=0)
    return np.concatenate([blocks[g] for g in ONNX_TO_TORCH_GATES], axis=0)


def _candidates(name: str, a: np.ndarray) -> dict[str, np.ndarray]:
    """Every torch-side array a graph weight could stand for, keyed by how it was transformed."""
    out = {"same": a}
    if a.ndim == 2:
        out["transposed"] = a.T
    if a.ndim == 3 and a.shape[0] in (1, 2):  # one direction, or both stacked (a fused bidirectional LSTM)
        for d in range(a.shape[0]):
            out[f"lstm{d}"] = _lstm_to_torch(a[d : d + 1])
    if a.ndim == 2 and a.shape[0] in (1, 2) and a.shape[1] % 8 == 0:  # LSTM bias: [W_b | R_b] per direction
        for d in range(a.shape[0]):
            wb, rb = np.split(a[d], 2)
            out[f"lstm_bias_ih{d}"] = _lstm_to_torch(wb[None, :, None])[:, 0]
            out[f"lstm_bias_hh{d}"] = _lstm_to_torch(rb[None, :, None])[:, 0]
    return out


def weight_map(cfg: NetConfig, fused: bool = False) -> dict[str, tuple[str, str]]:
    """torch parameter name -> (graph weight name, transform), found by exporting a random twin (its LSTMs fused into
    one node with ``fused``, as ``compression.release`` serves them)."""
    torch.manual_seed(0)
    twin = Tagger(cfg, sparse=False)
    with torch.no_grad():
        for p in twin.parameters():
            p.uniform_(-1, 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "twin.onnx"
        twin.net.export_onnx(path)
        exported = onnx.load(str(path))
        if fused:
            fuse_bilstm(exported)
        graph = {i.name: numpy_helper.to_array(i) for i in exported.graph.initializer}
    found: dict[str, tuple[str, str]] = {}
    for pname, p in twin.net.state_dict().items():
        want = p.numpy()
        for gname, a in graph.items():
            hit = next((how for how, c in _candidates(gname, a).items()
                        if c.shape == want.shape and np.array_equal(c, want)), None)
            if hit:
                found[pname] = (gname, hit)
                break
        else:
            raise RuntimeError(f"no graph weight matches {pname} {tuple(want.shape)}")
    return found


INTEGER_OPS = ("DynamicQuantizeLSTM", "MatMulInteger", "DynamicQuantizeMatMul", "GatherBlockQuantized")


def float_variant(model_dir: Path) -> str:
    """The variant holding the model's own network in float32: no network of its own (a cut or pruned copy has one)
    and no quantized operator. ``fp32`` when it is that, else the first such variant (a cut fp32 leaves the teacher)."""
    manifest = read_manifest(model_dir)
    names = sorted(manifest.variants, key=lambda n: n != "fp32")
    for name in names:
        variant = manifest.variants[name]
        ops = {n.op_type for n in onnx.load(str(model_dir / variant.file)).graph.node}
        if variant.network is None and not ops & set(INTEGER_OPS):
            return name
    raise ValueError(f"{model_dir} has no float32 variant of its own network to recover weights from")


def recover(model_dir: Path, out: Path) -> Path:
    """Write ``out`` (a train.py checkpoint) with the weights of ``model_dir``'s float graph (``float_variant``) and
    CRF."""
    manifest = read_manifest(model_dir)
    cfg = NetConfig(**manifest.network)
    fp32 = model_dir / manifest.variants[float_variant(model_dir)].file
    loaded = onnx.load(str(fp32)).graph
    graph = {i.name: numpy_helper.to_array(i) for i in loaded.initializer}
    model = Tagger(cfg)
    state = model.state_dict()
    for pname, (gname, how) in weight_map(cfg, fused=any(n.name == FUSED_LSTM for n in loaded.node)).items():
        state["net." + pname] = torch.from_numpy(np.ascontiguousarray(_candidates(gname, graph[gname])[how]))
    crf = np.load(model_dir / manifest.crf)
    for key in ("start", "end", "transitions"):
        state["crf." + key] = torch.from_numpy(crf[key])
    model.load_state_dict(state)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out, list(manifest.labels), recovered_from=str(model_dir))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="checkpoint to write (e.g. runs/base/checkpoint.pt)")
    args = ap.parse_args(argv)
    print(recover(args.model_dir, args.out))


if __name__ == "__main__":
    main()
