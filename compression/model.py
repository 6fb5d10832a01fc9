"""The tagger: char + bigram embeddings and lexicon features -> BiLSTM -> self-attention -> tag scores, with a CRF;
its checkpoints and its ONNX export."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from .crf import CRFLayer
from .lac_encoder import LacEncoder
from .recurrent import reverse_within_length

CHECKPOINT = "checkpoint.pt"
WORD_SET_SIZE = 4  # lexicon words per SoftLexicon set (B/M/E/S) and character
INPUT_NAMES = ["chars", "bigrams", "lexicon", "lengths", "lexwords", "lac_ids", "lac_lengths", "lac_index"]


@dataclass
class NetConfig:
    """Sizes of the emission network; stored in the checkpoint and the manifest."""

    n_chars: int
    n_bigrams: int
    lexicon_width: int
    n_tags: int
    char_dim: int = 128
    bigram_dim: int = 64
    hidden: int = 128
    heads: int = 4
    head_dim: int = 32
    dropout: float = 0.5
    n_words: int = 0  # rows of the (frozen, pretrained) lexicon word-embedding table; 0: no word sets
    word_dim: int = 0
    bigram_rank: int = 0  # >0: the bigram table is factorized into [n_bigrams, rank] @ [rank, bigram_dim]
    lac_dim: int = 0  # >0: frozen LAC BiGRU states (256 wide) join the BiLSTM input
    lac_rows: int = 0  # >0: the LAC encoder reads LAC's own tokens (rows of its 58k table); 0: our characters
    lac_char_view: bool = False  # with lac_rows: a second LAC encoder also reads our characters (both views)

    def to_dict(self) -> dict:
        return asdict(self)


class SelfAttention(nn.Module):
    """Multi-head self-attention over the valid positions, with separate Q/K/V heads (prunable)."""

    def __init__(self, dim: int, heads: int, head_dim: int):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.q = nn.Linear(dim, heads * head_dim)
        self.k = nn.Linear(dim, heads * head_dim)
        self.v = nn.Linear(dim, heads * head_dim)
        self.out = nn.Linear(heads * head_dim, dim)
        self.head_mask: torch.Tensor | None = None  # set while measuring head importance

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        shape = (b, t, self.heads, self.head_dim)
        q = self.q(x).view(shape).transpose(1, 2)
        k = self.k(x).view(shape).transpose(1, 2)
        v = self.v(x).view(shape).transpose(1, 2)
        scores = q @ k.transpose(2, 3) / (self.head_dim**0.5)
        pad = torch.arange(t, device=x.device).unsqueeze(0) >= lengths.unsqueeze(1)
        scores = scores.masked_fill(pad[:, None, None, :], -1e4)
        ctx = torch.softmax(scores, dim=-1) @ v
        if self.head_mask is not None:
            ctx = ctx * self.head_mask.view(1, -1, 1, 1)
        return self.out(ctx.transpose(1, 2).reshape(b, t, self.heads * self.head_dim))


class EmissionNet(nn.Module):
    """Inputs (chars, bigrams, lexicon, lengths) -> emissions [B, T, n_tags]."""

    def __init__(self, cfg: NetConfig, sparse: bool = True):
        super().__init__()
        self.cfg = cfg
        self.char_emb = nn.Embedding(cfg.n_chars, cfg.char_dim, padding_idx=0, sparse=sparse)
        self.bigram_emb = None
        if cfg.n_bigrams:
            width = cfg.bigram_rank or cfg.bigram_dim
            self.bigram_emb = nn.Embedding(cfg.n_bigrams, width, padding_idx=0, sparse=sparse)
        self.bigram_up = (nn.Linear(cfg.bigram_rank, cfg.bigram_dim, bias=False)
                          if cfg.n_bigrams and cfg.bigram_rank else None)
        self.word_emb = nn.Embedding(cfg.n_words, cfg.word_dim, padding_idx=0) if cfg.n_words else None
        if self.word_emb is not None:
            self.word_emb.weight.requires_grad_(False)
        self.lac = self.lac_chars = None
        if cfg.lac_dim:
            self.lac = LacEncoder(cfg.lac_rows or cfg.n_chars)
            if cfg.lac_rows and cfg.lac_char_view:
                self.lac_chars = LacEncoder(cfg.n_chars)
        width = (cfg.char_dim + (cfg.bigram_dim if cfg.n_bigrams else 0) + cfg.lexicon_width
                 + 4 * cfg.word_dim * (cfg.n_words > 0) + cfg.lac_dim * (1 + (self.lac_chars is not None)))
        self.drop = nn.Dropout(cfg.dropout)
        self.fwd = nn.LSTM(width, cfg.hidden, batch_first=True)
        self.bwd = nn.LSTM(width, cfg.hidden, batch_first=True)
        self.attn = SelfAttention(2 * cfg.hidden, cfg.heads, cfg.head_dim) if cfg.heads else None
        self.emit = nn.Linear(2 * cfg.hidden, cfg.n_tags)
        self.probe: torch.Tensor | None = None  # the BiLSTM output of the last call, kept while measuring importance
        self.keep_probe = False

    def run(self, batch: dict) -> torch.Tensor:
        """Forward over a batch dict as made by the runtime's Featurizer.batch."""
        return self(batch["chars"], batch["bigrams"], batch["lexicon"], batch["lengths"], batch.get("lexwords"),
                    batch.get("lac_ids"), batch.get("lac_lengths"), batch.get("lac_index"))

    def forward(self, chars, bigrams, lexicon, lengths, lexwords=None, lac_ids=None, lac_lengths=None, lac_index=None):
        parts = [self.char_emb(chars)]
        if self.bigram_emb is not None:
            b = self.bigram_emb(bigrams)
            parts.append(self.bigram_up(b) if self.bigram_up is not None else b)
        if self.cfg.lexicon_width:
            parts.append(lexicon)
        if self.word_emb is not None:
            words = self.word_emb(lexwords)  # [B, T, 4, K, D]: SoftLexicon B/M/E/S word sets
            count = (lexwords > 0).sum(-1, keepdim=True).clamp(min=1).to(words.dtype)
            parts.append((words.sum(3) / count).flatten(2))
        if self.lac is not None and self.cfg.lac_rows:  # LAC reads its own tokens; a character takes its token's state
            states = self.lac(lac_ids, lac_lengths)
            parts.append(states.gather(1, lac_index.unsqueeze(2).expand(-1, -1, states.shape[2])))
            if self.lac_chars is not None:
                parts.append(self.lac_chars(chars, lengths))
        elif self.lac is not None:
            parts.append(self.lac(chars, lengths))
        x = self.drop(torch.cat(parts, dim=2))
        fwd, _ = self.fwd(x)
        bwd, _ = self.bwd(reverse_within_length(x, lengths))
        h = torch.cat([fwd, reverse_within_length(bwd, lengths)], dim=2)
        if self.keep_probe:
            h.retain_grad()
            self.probe = h
        if self.attn is not None:
            h = h + self.attn(self.drop(h), lengths)
        return self.emit(self.drop(h))

    def export_onnx(self, path: Path) -> None:
        """This network to ONNX (opset 17) with dynamic batch and sequence axes, the inputs it reads named as the
        runtime's featurizer names them."""
        self.eval()
        cfg = self.cfg
        dummy = (torch.ones(2, 5, dtype=torch.long), torch.ones(2, 5, dtype=torch.long),
                 torch.zeros(2, 5, cfg.lexicon_width), torch.tensor([5, 3]))
        names = INPUT_NAMES[:4]
        axes = {"chars": {0: "batch", 1: "time"}, "bigrams": {0: "batch", 1: "time"},
                "lexicon": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, "emissions": {0: "batch", 1: "time"}}
        if cfg.n_words or cfg.lac_rows:
            dummy = (*dummy, torch.ones(2, 5, 4, WORD_SET_SIZE, dtype=torch.long))
            names = INPUT_NAMES[:5]
            axes["lexwords"] = {0: "batch", 1: "time"}
        if cfg.lac_rows:  # LAC tokens: 4 and 2 of them covering the 5 and 3 characters
            dummy = (*dummy, torch.ones(2, 4, dtype=torch.long), torch.tensor([4, 2]),
                     torch.tensor([[0, 1, 1, 2, 3], [0, 0, 1, 0, 0]]))
            names = INPUT_NAMES
            axes.update({"lac_ids": {0: "batch", 1: "tokens"}, "lac_lengths": {0: "batch"},
                         "lac_index": {0: "batch", 1: "time"}})
        torch.onnx.export(self, dummy, str(path), input_names=names, output_names=["emissions"],
                          dynamic_axes=axes, opset_version=17, dynamo=False)


class Tagger(nn.Module):
    """Emission network plus CRF: what training optimizes."""

    def __init__(self, cfg: NetConfig, sparse: bool = True):
        super().__init__()
        self.net = EmissionNet(cfg, sparse=sparse)
        self.crf = CRFLayer(cfg.n_tags)

    def loss(self, batch: dict, tags: torch.Tensor) -> torch.Tensor:
        emissions = self.net.run(batch)
        mask = torch.arange(tags.shape[1]).unsqueeze(0) < batch["lengths"].unsqueeze(1)
        return self.crf.nll(emissions, tags, mask)

    def save(self, path: Path, labels: list[str], **extra) -> None:
        """A checkpoint: the network's sizes, the labels, the weights and ``extra`` facts (epoch, dev F1...)."""
        torch.save({"config": self.net.cfg.to_dict(), "labels": labels, "state_dict": self.state_dict(), **extra}, path)


def load_tagger(path: Path) -> tuple[Tagger, list[str]]:
    """A checkpoint's Tagger (dense embeddings, eval mode) and its labels."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    model = Tagger(NetConfig(**ckpt["config"]), sparse=False)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt["labels"]
