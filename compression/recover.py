"""Rebuild a training checkpoint from a model directory's ONNX graph, so a shipped model can be fine-tuned or pruned
without the run folder it came from.

python -m compression.recover models/multi-base --out runs/base/checkpoint.pt
python -m compression.recover models/multi-base --variant student --out runs/student-r/checkpoint.pt --inputs

The exporter renames some weights (``onnx::LSTM_423``) and lays LSTM gates out in ONNX order; a released graph also
has its two LSTMs fused into one bidirectional node (weights stacked per direction). The mapping is learnt, not
hard-coded: a twin network with random weights is exported (and fused, when the graph is) the same way and each
graph weight is matched to the torch parameter it came from. A quantized variant (the student ships only in INT8 with
4-bit tables) is read back dequantized: its weights to within a quantization step, not exactly. ``--inputs`` writes
the variant's vocabularies and lexicon beside the checkpoint under the names a run folder uses (vocab.txt,
bigrams.txt, lexicon.tsv) and a training.json naming the variant and its own training record, so
``compression.export`` and ``compression.prune`` can run there and what comes out keeps its history.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from raner.features import read_table
from raner.lexicon import Lexicon
from raner.manifest import read_manifest

from .bilstm_fusion import FUSED_LSTM, fuse_bilstm
from .invocation import invocation
from .model import NetConfig, Tagger
from .onnx_info import PACKED_4BIT_SUFFIX

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


def recover(model_dir: Path, out: Path, variant: str | None = None) -> Path:
    """Write ``out`` (a train.py checkpoint) with the weights and CRF of ``model_dir``'s ``variant`` (default: its
    float graph, ``float_variant``); a quantized variant's weights are dequantized."""
    manifest = read_manifest(model_dir)
    variant = variant or float_variant(model_dir)
    if variant not in manifest.variants:
        raise ValueError(f"{model_dir} has no variant {variant!r} ({', '.join(manifest.variants)})")
    network = dict(manifest.variants[variant].network or manifest.network)
    bigrams = manifest.variant_inputs(variant).get("bigrams")
    if network.get("n_bigrams") and bigrams:  # a pruned table has the rows of its own vocabulary file
        network["n_bigrams"] = len(read_table(manifest.file(bigrams)))
    cfg = NetConfig(**network)
    loaded = onnx.load(str(manifest.file(manifest.variants[variant].file))).graph
    graph = dequantized(loaded)
    model = Tagger(cfg)
    state = model.state_dict()
    for pname, (gname, how) in weight_map(cfg, fused=any(n.name == FUSED_LSTM for n in loaded.node)).items():
        state["net." + pname] = torch.from_numpy(np.array(_candidates(gname, graph[gname])[how]))  # a writable copy
    crf = np.load(manifest.file(manifest.variant_crf(variant)))
    for key in ("start", "end", "transitions"):
        state["crf." + key] = torch.from_numpy(crf[key])
    model.load_state_dict(state)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out, list(manifest.labels), recovered_from=f"{model_dir}:{variant}")
    return out


def dequantized(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """The graph's float weights by the names the float export gives them: int8 and uint8 tensors with a scale and
    zero point (``X_quantized``), 4-bit row blocks (``X_q4``, compression.quantization) and DynamicQuantizeLSTM's int8
    W and R (back in ONNX LSTM's layout) dequantized; float tensors as they are."""
    raw = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    lstm = {n.input[i]: (n.input[scale], n.input[scale + 1]) for n in graph.node if n.op_type == "DynamicQuantizeLSTM"
            for i, scale in ((1, 8), (2, 10))}
    out = {}
    for name, a in raw.items():
        if name in lstm:  # [directions, input, 4 * hidden] -> ONNX LSTM's [directions, 4 * hidden, input]; first:
            # an unfused LSTM's weights also have the plain int8 case's ``_quantized`` and ``_scale`` names
            scale, zero = (raw[k] for k in lstm[name])
            back = _affine(a, scale[:, None, None], zero[:, None, None]).transpose(0, 2, 1).copy()
            out[name.removesuffix("_quantized")] = back
        elif name.endswith(PACKED_4BIT_SUFFIX):
            base = name[: -len(PACKED_4BIT_SUFFIX)]
            codes, zero = _unpack_4bit(a), _unpack_4bit(raw[base + "_q4_zero_point"])
            scale = raw[base + "_q4_scale"]
            block = codes.shape[1] // scale.shape[1]
            out[base] = ((codes.reshape(len(codes), -1, block) - zero[:, : scale.shape[1], None])
                         * scale[:, :, None]).reshape(codes.shape).astype(np.float32)
        elif name.endswith("_quantized") and name[: -len("_quantized")] + "_scale" in raw:
            base = name[: -len("_quantized")]
            out[base] = _affine(a, raw[base + "_scale"], raw[base + "_zero_point"])
        elif a.dtype == np.float32:
            out.setdefault(name, a)
    return out


def _affine(q: np.ndarray, scale: np.ndarray, zero: np.ndarray) -> np.ndarray:
    return ((q.astype(np.float32) - zero.astype(np.float32)) * scale).astype(np.float32)


def _unpack_4bit(packed: np.ndarray) -> np.ndarray:
    """Two codes a byte, the first in the low nibble (compression.quantization.pack_4bit's layout)."""
    return np.stack([packed & 15, packed >> 4], axis=-1).reshape(len(packed), -1).astype(np.float32)


def write_run_inputs(model_dir: Path, variant: str, folder: Path) -> None:
    """The variant's character and bigram vocabularies and its lexicon in ``folder`` as a run folder names them."""
    manifest = read_manifest(model_dir)
    inputs = manifest.variant_inputs(variant)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(manifest.file(inputs["vocab"]), folder / "vocab.txt")
    if inputs.get("bigrams"):
        shutil.copyfile(manifest.file(inputs["bigrams"]), folder / "bigrams.txt")
    if inputs.get("lexicon"):
        lexicon = Lexicon.read(manifest.file(inputs["lexicon"]), inputs["lexicon_categories"],
                               inputs.get("lexicon_set_size", 4))
        lexicon.write_tsv(folder / "lexicon.tsv")


def variant_training(model_dir: Path, variant: str) -> dict:
    """The training record of ``model_dir``'s ``variant``: its own (an adopted variant carries the run it came from),
    else the model's."""
    manifest = read_manifest(model_dir)
    return dict(manifest.variants[variant].extra.get("training") or manifest.training or {})


def write_training_record(model_dir: Path, variant: str, folder: Path, command: str) -> None:
    """``folder/training.json`` (what compression.export puts in the manifest): this recovery and, under ``base``,
    the record of the run the variant came from, so a model fine-tuned from it keeps its whole history."""
    base = variant_training(model_dir, variant)
    record = {"command": command, "recovered_from": f"{model_dir}:{variant}", "base": base,
              "total_train_seconds": base.get("total_train_seconds")}
    (folder / "training.json").write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--out", type=Path, required=True, help="checkpoint to write (e.g. runs/base/checkpoint.pt)")
    ap.add_argument("--variant", help="the variant to read (default: the model's own network in float32)")
    ap.add_argument("--inputs", action="store_true", help="also write the variant's vocabularies and lexicon beside "
                    "the checkpoint (vocab.txt, bigrams.txt, lexicon.tsv)")
    args = ap.parse_args(argv)
    variant = args.variant or float_variant(args.model_dir)
    print(recover(args.model_dir, args.out, variant))
    if args.inputs:
        write_run_inputs(args.model_dir, variant, args.out.parent)
        write_training_record(args.model_dir, variant, args.out.parent, invocation("compression.recover", argv))


if __name__ == "__main__":
    main()
