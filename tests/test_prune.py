"""Structured pruning on a tiny model: removes what the plan says and computes the same function."""
import copy
import json

import pytest
import torch

import raner
from compression import export, prune, train
from compression.model import NetConfig, Tagger
from compression.onnx_info import parameter_count
from compression.pruning import UnitPlan, apply_unit_plan, measure_unit_importance


def random_tagger(seed=0):
    torch.manual_seed(seed)
    model = Tagger(NetConfig(n_chars=30, n_bigrams=40, lexicon_width=16, n_tags=7, char_dim=8, bigram_dim=6,
                             hidden=10, heads=4, head_dim=3, dropout=0.0))
    model.eval()
    return model


def inputs(seed=1):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([7, 4, 1])
    chars = torch.randint(1, 30, (3, 7), generator=g)
    bigrams = torch.randint(1, 40, (3, 7), generator=g)
    lex = (torch.rand(3, 7, 16, generator=g) > 0.7).float()
    return chars, bigrams, lex, lengths


def silenced(model: Tagger, plan: UnitPlan) -> Tagger:
    """A same-size copy of ``model`` with the units and heads the plan drops switched off: the reference."""
    m = copy.deepcopy(model)
    net, cfg = m.net, m.net.cfg
    with torch.no_grad():
        for name, keep in (("fwd", plan.keep_fwd), ("bwd", plan.keep_bwd)):
            lstm = getattr(net, name)
            drop = [k for k in range(cfg.hidden) if k not in keep]
            out_gate = [3 * cfg.hidden + k for k in drop]
            lstm.weight_ih_l0[out_gate] = 0
            lstm.weight_hh_l0[out_gate] = 0
            lstm.bias_ih_l0[out_gate] = -1e4  # output gate shut: h_k = 0
            lstm.bias_hh_l0[out_gate] = 0
        dims = plan.keep_fwd + [cfg.hidden + k for k in plan.keep_bwd]
        net.emit.weight[:, [d for d in range(2 * cfg.hidden) if d not in dims]] = 0
        if net.attn is not None:
            hd = cfg.head_dim
            for h in range(cfg.heads):
                if h not in plan.keep_heads:
                    net.attn.out.weight[:, h * hd : (h + 1) * hd] = 0
    return m


def test_pruned_network_equals_silenced_original():
    model = random_tagger()
    plan = UnitPlan(keep_fwd=[0, 2, 3, 7, 9], keep_bwd=[1, 2, 4, 5, 8], keep_heads=[1, 3])
    small = apply_unit_plan(model, plan)
    small.eval()
    assert small.net.cfg.hidden == 5 and small.net.cfg.heads == 2
    assert small.net.fwd.weight_hh_l0.shape == (20, 5) and small.net.attn.q.weight.shape == (6, 10)
    x = inputs()
    with torch.no_grad():
        a = small.net(*x)
        b = silenced(model, plan).net(*x)
        full = model.net(*x)
    mask = torch.arange(7).unsqueeze(0) < x[3].unsqueeze(1)
    torch.testing.assert_close(a[mask], b[mask], atol=1e-5, rtol=1e-4)
    assert not torch.allclose(a[mask], full[mask], atol=1e-3)  # something was really removed
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in model.parameters())


def test_dropping_every_head_removes_the_attention_block():
    model = random_tagger()
    plan = UnitPlan(keep_fwd=list(range(10)), keep_bwd=list(range(10)), keep_heads=[])
    small = apply_unit_plan(model, plan)
    small.eval()
    assert small.net.attn is None and small.net.cfg.heads == 0
    reference = silenced(model, plan)
    with torch.no_grad():
        reference.net.attn.out.bias.zero_()  # no head left: the block adds nothing, its bias included
        x = inputs()
        a, b = small.net(*x), reference.net(*x)
    mask = torch.arange(7).unsqueeze(0) < x[3].unsqueeze(1)
    torch.testing.assert_close(a[mask], b[mask], atol=1e-5, rtol=1e-4)


def test_bigram_rows_are_remapped():
    model = random_tagger()
    keep = [0, 1, 5, 6, 30]
    plan = UnitPlan(keep_fwd=list(range(10)), keep_bwd=list(range(10)), keep_heads=[0, 1, 2, 3], keep_bigrams=keep)
    small = apply_unit_plan(model, plan)
    chars, bigrams, lex, lengths = inputs()
    bigrams = torch.tensor([[5, 6, 30, 1, 5, 6, 30]] * 3)
    remapped = torch.tensor([[2, 3, 4, 1, 2, 3, 4]] * 3)
    with torch.no_grad():
        torch.testing.assert_close(small.net(chars, remapped, lex, lengths), model.net(chars, bigrams, lex, lengths))


@pytest.mark.slow
def test_importance_ranks_every_unit_and_head(tiny_corpus):
    from compression.data import read_conll

    model = random_tagger()
    sentences = [s for s in read_conll(tiny_corpus / "train.txt")][:8]

    from raner.features import PAD, UNK, Featurizer
    from raner.lexicon import Lexicon

    chars = {PAD: 0, UNK: 1}
    for ch in sorted({c for s in sentences for c in s.text})[:28]:
        chars[ch] = len(chars)
    feat = Featurizer(chars, {PAD: 0, UNK: 1}, Lexicon({"北京": 1}, ["WORD", "PER", "LOC", "ORG"]))
    labels = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    imp = measure_unit_importance(model, feat, sentences, labels, batches=2, batch_size=4)
    assert imp["fwd"].shape == (10,) and imp["heads"].shape == (4,)
    assert (imp["fwd"] > 0).any() and (imp["heads"] > 0).any()


@pytest.mark.slow
def test_prune_command_adds_smaller_variants(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("pm") / "tiny"
    train.main(["--data", str(tiny_corpus), "--out", str(out), "--epochs", "1", "--hidden", "16", "--char-dim", "16",
                "--bigram-dim", "8", "--heads", "4", "--bigram-min-count", "1"])
    export.main([str(out), "--data", str(tiny_corpus)])
    recipe = out.parent / "recipe.json"  # the fine-tune sees the training data's conventions and augmentations
    recipe.write_text(json.dumps({"split_facilities": True, "split_branches": True, "augment_name_lists": 0.5,
                                  "augment_brands": 0.5, "hidden": 999}), encoding="utf-8")  # network keys ignored
    unlabelled = out.parent / "unlabelled.txt"  # learnt through the teachers' posteriors only
    unlabelled.write_text("马云在杭州发表演讲\n北京今天下雪了\n", encoding="utf-8")
    prune.main([str(out), "--data", str(tiny_corpus), "--hidden", "8", "--heads", "2", "--bigram-min-count", "2",
                "--epochs", "1", "--recipe", str(recipe), "--teachers", str(out), "--unlabelled", str(unlabelled)])
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {"fp32", "int8", "int8-emb4", "pruned", "pruned-int8", "pruned-int8-emb4"} <= set(m["variants"])
    v = m["variants"]
    assert v["pruned"]["parameters"] < v["fp32"]["parameters"]
    assert v["pruned-int8"]["size_bytes"] < v["pruned"]["size_bytes"] < v["fp32"]["size_bytes"]
    assert parameter_count(out / "model.pruned.onnx") == v["pruned"]["parameters"]
    for name in ("pruned", "pruned-int8", "pruned-int8-emb4"):  # each records the smaller network it has
        assert (v[name]["network"]["hidden"], v[name]["network"]["heads"]) == (8, 2), name
    for name in v:
        rec = raner.load(out, variant=name)
        text = "华为创始人任正非在深圳接受了新华社记者的采访。"
        assert all(text[e.start:e.end] == e.text for e in rec.predict(text))


def test_factorized_bigram_table_at_full_rank_is_exact():
    model = random_tagger()
    plan = UnitPlan(keep_fwd=list(range(10)), keep_bwd=list(range(10)), keep_heads=[0, 1, 2, 3], bigram_rank=6)
    small = apply_unit_plan(model, plan)
    assert small.net.bigram_emb.weight.shape == (40, 6) and small.net.bigram_up.weight.shape == (6, 6)
    x = inputs()
    with torch.no_grad():
        torch.testing.assert_close(small.net(*x), model.net(*x), atol=1e-4, rtol=1e-4)
    low = apply_unit_plan(model, UnitPlan(list(range(10)), list(range(10)), [0, 1, 2, 3], bigram_rank=2))
    assert sum(p.numel() for p in low.parameters()) < sum(p.numel() for p in model.parameters())
