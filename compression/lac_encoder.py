"""Baidu LAC's pretrained BiGRU encoder (Apache-2.0) as a frozen feature extractor for the tagger.

LAC was trained on a very large corpus for segmentation, POS and NER; its hidden states carry knowledge of
names that the 1990s MSRA text lacks. We read its weights with numpy (``compression.lac_files``), express each GRU
in ONNX's own terms (gates z, r, h with ``linear_before_reset=0``; LAC's update gate u is ONNX's 1 - z, and
each direction's input ``fc`` folds into W), and export it as ONNX ``GRU`` ops, so the runtime needs nothing new.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from raner.lac_tokens import LacTokenizer

from .lac_files import lac_model_dir, read_id_table, read_lod_tensor, read_word_dic
from .recurrent import BiGRU, bigru

HIDDEN = 128
EMB_DIM = 128


class LacEncoder(nn.Module):
    """Frozen LAC embeddings (a row per tagger character id, or per LAC token) -> 2 stacked BiGRU layers
    -> [B, T, 256]."""

    def __init__(self, n_chars: int):
        super().__init__()
        self.emb = nn.Embedding(n_chars, EMB_DIM)
        # per layer, ONNX layout with directions stacked: W [2, 3H, in], R [2, 3H, H], B [2, 6H]
        self.w = nn.ParameterList([nn.Parameter(torch.zeros(2, 3 * HIDDEN, n)) for n in (EMB_DIM, 2 * HIDDEN)])
        self.r = nn.ParameterList([nn.Parameter(torch.zeros(2, 3 * HIDDEN, HIDDEN)) for _ in range(2)])
        self.b = nn.ParameterList([nn.Parameter(torch.zeros(2, 6 * HIDDEN)) for _ in range(2)])
        self.requires_grad_(False)

    def tune(self, layers: int) -> None:
        """Let the top ``layers`` GRU layers train (fine-tuning); the embedding and lower layers stay frozen."""
        for layer in range(2 - layers, 2):
            for p in (self.w[layer], self.r[layer], self.b[layer]):
                p.requires_grad_(True)

    def accelerate(self) -> None:
        """Run this (frozen) encoder through ONNX Runtime's GRU while training: the same function as the torch
        loop (checked to 1e-4 in the tests), about 3x faster a batch, which made LAC-encoder epochs about 2x faster."""
        import io

        import onnxruntime as ort

        buf = io.BytesIO()
        axes = {"ids": {0: "b", 1: "t"}, "lengths": {0: "b"}, "states": {0: "b", 1: "t"}}
        torch.onnx.export(self, (torch.ones(2, 3, dtype=torch.long), torch.tensor([3, 2])), buf,
                          input_names=["ids", "lengths"], output_names=["states"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(buf.getvalue(), sess_options=opts, providers=["CPUExecutionProvider"])

    def forward(self, chars: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        session = getattr(self, "_session", None)
        if session is not None and not torch.onnx.is_in_onnx_export() and not self.w[1].requires_grad:
            states = session.run(None, {"ids": chars.numpy(), "lengths": lengths.numpy()})[0]
            return torch.from_numpy(states)
        x = self.emb(chars)
        for layer in range(2):
            # a layer being fine-tuned needs gradients through plain ops; otherwise (and in export) one ONNX GRU node
            tuning = self.w[layer].requires_grad and torch.is_grad_enabled() and not torch.onnx.is_in_onnx_export()
            x = (bigru if tuning else BiGRU.apply)(x, lengths, self.w[layer], self.r[layer], self.b[layer])
        return x


def onnx_gru_weights(fc_w: np.ndarray, fc_b: np.ndarray, gru_w: np.ndarray,
                     gru_b: np.ndarray) -> tuple[np.ndarray, ...]:
    """One LAC direction (its input fc + dynamic_gru) as ONNX GRU W, R, Wb, Rb (gates z, r, h).

    LAC's GRU weight [H, 3H] is stored as a [H, 2H] update|reset block followed by a [H, H] candidate block
    (by memory position, not by columns); its update gate u is ONNX's 1 - z, so the z rows are negated.
    """
    h = gru_w.shape[0]
    flat = gru_w.reshape(-1)
    w_ur = flat[: 2 * h * h].reshape(h, 2 * h)
    w_c = flat[2 * h * h :].reshape(h, h)
    sign = np.concatenate([-np.ones(h), np.ones(2 * h)]).astype(np.float32)
    w = fc_w.T * sign[:, None]  # [3H, in], fc columns already in u, r, c order
    wb = (fc_b + gru_b.reshape(-1)) * sign
    r = np.concatenate([-w_ur[:, :h].T, w_ur[:, h:].T, w_c.T], 0)
    rb = np.zeros(3 * h, np.float32)
    return w.astype(np.float32), r.astype(np.float32), wb.astype(np.float32), rb


def read_q2b(model: Path) -> dict[str, str]:
    """LAC's character replacement map (full-width and traditional forms to the ones it was trained on)."""
    table: dict[str, str] = {}
    with open(model / "conf" / "q2b.dic", encoding="utf-8") as f:
        for line in f:
            src, _, dst = line.rstrip("\n").partition("\t")
            if src and dst:
                table[src] = dst
    return table


def char_rows(model: Path, chars: list[str], special: dict[str, str]) -> np.ndarray:
    """LAC embedding row for each tagger vocabulary entry (``special`` maps e.g. [SPACE] to a real character)."""
    words = read_word_dic(model / "conf" / "word.dic")
    index = {w: i for i, w in enumerate(words)}
    q2b = read_q2b(model)
    oov = index["OOV"]
    rows = []
    for c in chars:
        c = special.get(c, c)
        rows.append(index.get(q2b.get(c, c), oov))
    return np.asarray(rows, dtype=np.int64)


def load_lac_encoder(lac_dir: str | Path, chars: list[str], special: dict[str, str] | None = None) -> LacEncoder:
    """A LacEncoder whose embedding row i is LAC's vector for ``chars[i]``."""
    model = lac_model_dir(lac_dir)
    p = {name: read_lod_tensor(model / "model" / name) for name in
         [f"{layer}_{i}.{k}_0" for layer in ("fc", "gru") for i in range(4) for k in "wb"] + ["word_emb"]}
    enc = LacEncoder(len(chars))
    with torch.no_grad():
        rows = char_rows(model, chars, special or {})
        enc.emb.weight.copy_(torch.from_numpy(p["word_emb"][rows]))
        for layer in range(2):  # LAC's layer order: fc_0/gru_0 forward, fc_1/gru_1 backward, then fc_2.. fc_3..
            for direction in range(2):
                i = 2 * layer + direction
                w, r, wb, rb = onnx_gru_weights(p[f"fc_{i}.w_0"], p[f"fc_{i}.b_0"],
                                                p[f"gru_{i}.w_0"], p[f"gru_{i}.b_0"])
                enc.w[layer][direction].copy_(torch.from_numpy(w))
                enc.r[layer][direction].copy_(torch.from_numpy(r))
                enc.b[layer][direction].copy_(torch.from_numpy(np.concatenate([wb, rb])))
    return enc


def lac_tagger_head(lac_dir: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LAC's own emission layer (fc_4) and CRF (crfw: start row, end row, transitions), to check our reading."""
    model = lac_model_dir(lac_dir)
    fc_w, fc_b = read_lod_tensor(model / "model" / "fc_4.w_0"), read_lod_tensor(model / "model" / "fc_4.b_0")
    return fc_w, fc_b, read_lod_tensor(model / "model" / "crfw")


@torch.no_grad()
def lac_word_types(lac_dir: str | Path, batch: int = 4096) -> dict[str, str]:
    """PER/LOC/ORG for each multi-character word of LAC's vocabulary that LAC's own tagger, reading the word
    alone as one token, tags as an entity (about 11,600 words: 华为, 阿里巴巴 and 微软 as ORG, for instance)."""
    model = lac_model_dir(lac_dir)
    words = read_word_dic(model / "conf" / "word.dic")
    enc = load_lac_encoder(lac_dir, words)
    tags = read_id_table(model / "conf" / "tag.dic")  # a later line wins: 16 is PER-B, not nr-B
    fc_w, fc_b, crfw = lac_tagger_head(lac_dir)
    out: dict[str, str] = {}
    for start in range(0, len(words), batch):
        ids = torch.arange(start, min(start + batch, len(words))).unsqueeze(1)
        h = enc(ids, torch.ones(len(ids), dtype=torch.long)).numpy()[:, 0]
        best = (h @ fc_w + fc_b + crfw[0] + crfw[1]).argmax(1)  # a one-step sequence: start + emission + end
        for i, b in zip(ids[:, 0].tolist(), best.tolist()):
            kind = tags[b].split("-")[0]
            if len(words[i]) >= 2 and words[i] != "OOV" and kind in ("PER", "LOC", "ORG"):
                out[words[i]] = kind
    return out


def lac_tokenizer(lac_dir: str | Path) -> LacTokenizer:
    """LAC's segmentation dictionary (``small_seg.dic``: word and count a line), vocabulary and replacements."""
    model = lac_model_dir(lac_dir)
    words, total = set(), 0
    with open(model / "conf" / "small_seg.dic", encoding="utf-8") as f:
        for line in f:
            word, _, count = line.strip().partition(" ")
            if word:
                words.add(word)
                total += int(count)
    rows = read_word_dic(model / "conf" / "word.dic")
    vocab = {w: i for i, w in enumerate(rows)}
    return LacTokenizer(vocab, words, float(np.log(total)), read_q2b(model), vocab["OOV"])
