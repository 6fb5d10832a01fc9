"""RaNER (ModelScope transformer-crf) -> ONNX -> INT8 / pruned, end to end on tiny random-weight models."""
from __future__ import annotations

import itertools
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

# every test needs torch and transformers (seconds to import) and most build a model: the slow lane
pytestmark = pytest.mark.slow
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import raner  # noqa: E402
from compression.crf import CRFLayer  # noqa: E402
from compression.inputs import to_torch  # noqa: E402
from compression.onnx_info import parameter_count  # noqa: E402
from compression.transformer import build as build_raner  # noqa: E402
from compression.transformer import head_pruning, network, source  # noqa: E402
from raner.markup import read_marked_file  # noqa: E402
from raner.normalize import normalize  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIO = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
BIOES = ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "B-ORG", "I-ORG", "E-ORG", "S-ORG",
         "B-PER", "I-PER", "E-PER", "S-PER"]
LATIN = ["wi", "fi", "5g", "ip", "the", "news", "ne", "un", "##hone", "##s", "##a", "##b", "##e", "##i", "##o", "##u",
         "##g", "##00", "##99", "##0", "##1", "##2", "##3", "##9", "20", "3", "39", "0", "1", "2", "5", "7", "9", "a",
         "b", "e", "g", "i", "n", "o", "p", "s", "t", "u", "w"]
MISSING = "龘"  # never in the vocabulary: [UNK]
TEXTS = ["马云在杭州阿里巴巴总部发表演讲", "这款手机售价3999元，支持5G网络和Wi-Fi 7。",
         "华为创始人任正非在深圳接受了新华社记者的采访。", f"iPhone在{MISSING}北京发布", "ＩＢＭ在２０２４年来到上海",
         "今天"]


def make_model_dir(path: Path, labels: list[str], label_source: str, hidden: int = 32, layers: int = 2, heads: int = 4,
                   intermediate: int = 64, vocab: list[str] | None = None, seed: int = 0, scale: float = 1.0) -> Path:
    """A random-weight model directory in ModelScope's RaNER layout (configuration.json, config.json, weights,
    vocab)."""
    from transformers import BertConfig, BertModel

    path.mkdir(parents=True, exist_ok=True)
    if vocab is None:
        chars = sorted({c for t, _ in read_marked_file(ROOT / "samples" / "news.txt") for c in t if not c.isspace()})
        chars = [c for c in chars if c.lower() == c and c != MISSING] + list("京发布来到海年")
        vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(chars) | set(LATIN))
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = {"architectures": ["SbertModel"], "model_type": "structbert", "vocab_size": len(vocab),
              "hidden_size": hidden, "num_hidden_layers": layers, "num_attention_heads": heads,
              "intermediate_size": intermediate,
              "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
              "max_position_embeddings": 512, "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
              "pad_token_id": 0, "position_embedding_type": "absolute", "adv_grad_factor": 5e-5, "sigma": 5e-6}
    if label_source == "config":
        config["id2label"] = {str(i): t for i, t in enumerate(labels)}
        config["label2id"] = {t: i for i, t in enumerate(labels)}
    else:
        (path / "label_mapping.json").write_text(json.dumps({t: i for i, t in enumerate(labels)}), encoding="utf-8")
    (path / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    configuration = {"framework": "pytorch", "task": "named-entity-recognition",
                     "model": {"type": "transformer-crf"}, "pipeline": {"type": "named-entity-recognition"},
                     "preprocessor": {"type": "token-cls-tokenizer"}}
    (path / "configuration.json").write_text(json.dumps(configuration, indent=2), encoding="utf-8")
    torch.manual_seed(seed)
    bert = BertModel(BertConfig(**{k: v for k, v in config.items() if k in source.BERT_FIELDS}))
    with torch.no_grad():
        for name, p in bert.named_parameters():
            if name.endswith("weight") and p.dim() == 2:
                p.normal_(0, 0.2 * scale)
    state = {f"encoder.{k}": v for k, v in bert.state_dict().items()}
    state["head.linear.weight"] = torch.randn(len(labels), hidden) * scale
    state["head.linear.bias"] = torch.randn(len(labels)) * scale
    state["head.crf.start_transitions"] = torch.randn(len(labels))
    state["head.crf.end_transitions"] = torch.randn(len(labels))
    state["head.crf.transitions"] = torch.randn(len(labels), len(labels))
    torch.save(state, path / "pytorch_model.bin")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_corpus):
    """Two source models (BIO via label_mapping.json, BIOES via config.json id2label) built by the command."""
    base = tmp_path_factory.mktemp("raner")
    out = {}
    tune = ["--data", str(tiny_corpus), "--finetune-steps", "3", "--batch-size", "4"]
    for name, labels, label_source, extra in (("bio", BIO, "mapping", tune), ("bioes", BIOES, "config", [])):
        src = make_model_dir(base / f"src-{name}", labels, label_source, seed=len(name))
        dst = base / f"out-{name}"
        build_raner.main(["--model", str(src), "--out", str(dst), "--eval", str(tiny_corpus / "test.txt"),
                          "--importance-sentences", "8", "--check-sentences", "8", *extra])
        out[name] = (src, dst)
    return out


def test_manifest_and_files(built):
    for name, (src, out) in built.items():
        m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert set(m["variants"]) == {"fp32", "int8", "pruned", "pruned-int8"}
        assert m["scheme"] == ("BIO" if name == "bio" else "BIOES")
        assert m["labels"] == (BIO if name == "bio" else BIOES)
        assert m["inputs"] == {"kind": "wordpiece", "vocab": "vocab.txt", "lowercase": True, "max_tokens": 512}
        assert m["max_length"] * 3 + 2 <= 512
        assert m["checks"]["torch_viterbi_identical_sentences"] == 1.0
        for v in m["variants"].values():
            assert (out / v["file"]).stat().st_size == v["size_bytes"]
            assert "test" in v["metrics"]
        with np.load(out / "crf.npz") as z:
            state = torch.load(src / "pytorch_model.bin", weights_only=True)
            np.testing.assert_array_equal(z["transitions"], state["head.crf.transitions"].numpy())
    bio = json.loads((built["bio"][1] / "manifest.json").read_text(encoding="utf-8"))
    assert "dev" in bio["variants"]["fp32"]["metrics"] and bio["pruning"]["fine_tune_steps"] == 3
    assert "gold tags" in bio["pruning"]["importance"]
    bioes = json.loads((built["bioes"][1] / "manifest.json").read_text(encoding="utf-8"))
    assert "own tags" in bioes["pruning"]["importance"] and bioes["default_variant"] == "int8"


def test_torch_and_onnx_fp32_agree(built):
    for src, out in built.values():
        model = source.load_model(source.read_source(src))
        rec = raner.load(out, variant="fp32", cache_size=0)
        feat = rec._featurizer
        encoded = [feat.encode(normalize(t)) for t in TEXTS]
        with torch.no_grad():
            ref = model.run(to_torch(feat.batch(encoded))).numpy()
        for i, em in enumerate(rec.emissions(TEXTS)):
            np.testing.assert_allclose(em, ref[i, : len(em)], atol=2e-4, rtol=1e-4)
        m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        check = build_raner.runtime_check(out, model, feat, m["labels"], m["scheme"], TEXTS)
        assert check["identical_entities_share"] == 1.0 and m["checks"]["fp32"]["identical_entities_share"] == 1.0


def test_every_variant_predicts_well_formed_spans(built):
    for _, out in built.values():
        kinds = set()
        for variant in ("fp32", "int8", "pruned", "pruned-int8"):
            rec = raner.load(out, variant=variant)
            for text in TEXTS + ["  前后有空格的句子。  ", "A" * 600, "长" * 700]:
                for e in rec.predict(text):
                    assert text[e.start:e.end] == e.text and e.type in ("PER", "LOC", "ORG")
                    assert e.text == e.text.strip() and e.text
                    kinds.add(e.type)
            for text in TEXTS:  # entities start and end on word boundaries: never inside iPhone, ＩＢＭ or ２０２４
                _, _, units = rec._featurizer.tokenize(normalize(text))
                for e in rec.predict(text):
                    assert e.start in {a for a, _ in units} and e.end in {b for _, b in units}
        assert kinds  # random weights still find something, so the spans above were really checked


def test_pruning_shrinks_the_network(built):
    for _, out in built.values():
        m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        v = m["variants"]
        assert v["pruned"]["parameters"] < v["fp32"]["parameters"]
        assert parameter_count(out / v["pruned"]["file"]) == v["pruned"]["parameters"]
        assert v["pruned"]["size_bytes"] < v["fp32"]["size_bytes"]
        assert v["pruned-int8"]["size_bytes"] < v["pruned"]["size_bytes"]
        assert v["int8"]["size_bytes"] < v["fp32"]["size_bytes"]
        assert sum(v["pruned"]["network"]["heads"]) == 4 and v["pruned"]["network"]["intermediate"] == [32, 32]


def test_pruned_network_equals_masked_original(tmp_path):
    src = make_model_dir(tmp_path / "m", BIO, "mapping", heads=4, layers=2)
    model = source.load_model(source.read_source(src))
    plan = head_pruning.HeadPlan(heads=[[1, 3], [0]], neurons=[list(range(0, 64, 2)), list(range(40))])
    small = head_pruning.apply_head_plan(model, plan)
    ids = torch.tensor([[2, 10, 11, 12, 13, 3], [2, 14, 15, 3, 0, 0]])
    feeds = {"input_ids": ids, "attention_mask": (ids != 0).long(), "token_type_ids": torch.zeros_like(ids)}
    with torch.no_grad():
        got = small.run(feeds)
        with head_pruning.Masks(model) as masks:
            for layer, keep in enumerate(plan.heads):
                masks.heads[layer][[h for h in range(4) if h not in keep]] = 0
            for layer, keep in enumerate(plan.neurons):
                masks.neurons[layer][[n for n in range(64) if n not in keep]] = 0
            want = model.run(feeds)
        full = model.run(feeds)
    valid = feeds["attention_mask"].bool()
    torch.testing.assert_close(got[valid], want[valid], atol=1e-5, rtol=1e-4)
    assert not torch.allclose(got[valid], full[valid], atol=1e-3)
    assert small.shape()["heads"] == [2, 1] and small.shape()["intermediate"] == [32, 40]
    assert head_pruning.parameters(small) < head_pruning.parameters(model)


def test_plan_keeps_one_head_per_layer_and_drops_the_least_important():
    heads = [torch.tensor([0.1, 0.2, 0.3, 0.4]), torch.tensor([0.0, 0.0, 0.0, 1.0])]
    neurons = [torch.tensor([3.0, 1.0, 2.0, 0.5]), torch.tensor([0.0, 1.0, 0.0, 2.0])]
    plan = head_pruning.make_head_plan(heads, neurons, prune_heads=0.75, prune_ffn=0.5)
    assert plan.heads == [[3], [3]]  # per-layer L2-normalized scores, ranked globally
    # one head per layer stays
    assert head_pruning.make_head_plan(heads, neurons, prune_heads=0.99, prune_ffn=0.99).heads == [[3], [3]]
    assert plan.neurons == [[0, 2], [1, 3]]


def test_crf_transitions_mean_tag_i_followed_by_tag_j():
    """The runtime's Viterbi maximizes pytorch-crf's path score:
    start[y0] + sum em + sum transitions[y_t-1, y_t] + end."""
    rng = np.random.default_rng(3)
    labels = ["O", "B-PER", "I-PER", "S-PER", "E-PER"]
    model_crf = CRFLayer(len(labels))
    with torch.no_grad():
        for p in model_crf.parameters():
            p.copy_(torch.from_numpy(rng.normal(size=p.shape).astype(np.float32) * 3))
    emissions = rng.normal(size=(4, len(labels))).astype(np.float32)
    start, end, moves = (x.numpy() for x in network.allowed_matrix(labels, "BIOES"))
    s, e, t = (x.detach().numpy() for x in (model_crf.start, model_crf.end, model_crf.transitions))
    best, best_path = -np.inf, None
    for path in itertools.product(range(len(labels)), repeat=4):
        if not (start[path[0]] and end[path[-1]] and all(moves[a, b] for a, b in zip(path, path[1:]))):
            continue
        score = (s[path[0]] + sum(emissions[i, y] for i, y in enumerate(path))
                 + sum(t[a, b] for a, b in zip(path, path[1:])) + e[path[-1]])
        if score > best:
            best, best_path = score, list(path)
    runtime = raner.crf.CRF.constrained(s, e, t, labels, "BIOES").viterbi(emissions[None], [4])[0].tolist()
    assert runtime == best_path
    assert network.viterbi_reference(torch.from_numpy(emissions), model_crf, labels, "BIOES") == best_path


def test_labels_come_from_each_source(tmp_path):
    a = make_model_dir(tmp_path / "a", BIO, "mapping")
    b = make_model_dir(tmp_path / "b", BIOES, "config")
    c = make_model_dir(tmp_path / "c", BIO, "config")
    configuration = json.loads((c / "configuration.json").read_text(encoding="utf-8"))
    configuration["model"]["id2label"] = {str(i): t for i, t in enumerate(reversed(BIO))}
    (c / "configuration.json").write_text(json.dumps(configuration), encoding="utf-8")
    assert source.read_source(a).labels == BIO and source.read_source(a).scheme == "BIO"
    assert source.read_source(b).labels == BIOES and source.read_source(b).scheme == "BIOES"
    assert source.read_labels(c) == list(reversed(BIO))  # configuration.json wins over config.json
    assert source.bert_config(json.loads((a / "config.json").read_text())).num_attention_heads == 4


def _fake_hub(monkeypatch, snapshot_download) -> None:
    names = ("modelscope", "modelscope.hub", "modelscope.hub.snapshot_download")
    mods = {n: types.ModuleType(n) for n in names}
    mods["modelscope.hub.snapshot_download"].snapshot_download = snapshot_download
    for n, m in mods.items():
        monkeypatch.setitem(sys.modules, n, m)


def test_model_id_is_downloaded_with_the_hub_client(monkeypatch, tmp_path):
    src = make_model_dir(tmp_path / "downloaded", BIO, "mapping")
    asked = []

    def snapshot_download(model_id, cache_dir=None, **kw):
        asked.append(model_id)
        return str(src)

    _fake_hub(monkeypatch, snapshot_download)
    assert source.resolve_model("damo/nlp_raner_named-entity-recognition_chinese-base-news") == src
    assert asked == ["damo/nlp_raner_named-entity-recognition_chinese-base-news"]
    assert source.resolve_model(str(src)) == src  # a local directory is used as is


def test_offline_download_gives_a_clear_message(monkeypatch, tmp_path, capsys):
    def snapshot_download(model_id, cache_dir=None, **kw):
        raise ConnectionError("Max retries exceeded with url: /api/v1/models (Failed to resolve 'www.modelscope.cn')")

    _fake_hub(monkeypatch, snapshot_download)
    with pytest.raises(SystemExit) as exc:
        build_raner.main(["--model", "damo/nlp_raner_named-entity-recognition_chinese-base-news",
                          "--out", str(tmp_path / "o")])
    msg = str(exc.value)
    assert "cannot download damo/nlp_raner_named-entity-recognition_chinese-base-news" in msg
    assert "no network?" in msg and "local directory" in msg and "Traceback" not in msg
    assert not (tmp_path / "o").exists()


def test_missing_hub_client_and_bad_paths_are_clear(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "modelscope", None)  # import fails as if not installed
    with pytest.raises(source.SourceError, match="pip install modelscope"):
        source.resolve_model("damo/some-model")
    with pytest.raises(source.SourceError, match="neither a directory"):
        source.resolve_model(str(tmp_path / "nope" / "deeper" / "x"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(source.SourceError, match="config.json"):
        source.read_source(empty)


def test_no_pruning_and_bad_arguments(tmp_path, capsys):
    src = make_model_dir(tmp_path / "src", BIO, "mapping")
    raw = build_raner.main(["--model", str(src), "--out", str(tmp_path / "out"), "--prune-heads", "0",
                            "--prune-ffn", "0", "--check-sentences", "4", "--default", "fp32"])
    assert set(raw["variants"]) == {"fp32", "int8"} and raw["default_variant"] == "fp32" and "pruning" not in raw
    assert raner.load(tmp_path / "out").predict("马云在杭州") is not None
    for bad in (["--eval", str(tmp_path / "missing.txt")], ["--data", str(tmp_path)], ["--prune-heads", "1.5"]):
        with pytest.raises(SystemExit):
            build_raner.main(["--model", str(src), "--out", str(tmp_path / "o2"), *bad])
        assert "error:" in capsys.readouterr().err
