"""Assembling a served model directory: the chosen variants of one run, and a variant adopted from a run with its own
vocabularies (a student), each serving exactly as it did in its own directory."""
from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper

import raner
from compression import add_companies, adopt, cut_bigrams, export, prune, recover, release, train
from compression.data import read_conll
from compression.onnx_info import op_counts
from compression.pruning import BIGRAM_TABLE, bigram_counts
from raner.features import SPECIALS, UNK, read_table
from raner.lexicon import Lexicon
from raner.manifest import read_manifest, write_manifest
from raner.normalize import normalize

from .test_model_files import committed_files

pytestmark = pytest.mark.slow  # trains and exports two tiny models (seconds each)

TEXTS = ["马云在杭州阿里巴巴总部发表演讲", "华为创始人任正非在深圳接受了新华社记者的采访。", ""]


def tiny_run(corpus, out, *dims: str):
    train.main(["--data", str(corpus), "--out", str(out), "--epochs", "1", "--heads", "1", "--bigram-min-count", "1",
                *dims])
    export.main([str(out), "--no-eval"])
    return out


@pytest.fixture(scope="module")
def runs(tiny_corpus, tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    big = tiny_run(tiny_corpus, base / "big", "--hidden", "8", "--char-dim", "8", "--bigram-dim", "4")
    small = tiny_run(tiny_corpus, base / "small", "--hidden", "4", "--char-dim", "4", "--bigram-dim", "2",
                     "--bigram-min-count", "2")
    return big, small


def entities(model, variant):
    rec = raner.load(model, variant=variant, cache_size=0)
    return [[(e.text, e.type, e.start, e.end) for e in rec.predict(t)] for t in TEXTS]


def test_release_keeps_only_the_chosen_variants_and_their_files(runs, tmp_path, tiny_corpus):
    big, small = runs
    out = tmp_path / "served"
    release.main([str(big), str(out), "--variants", "int8-emb4,fp32", "--adopt", f"{small}:int8-emb4=student",
                  "--describe", "student=the small one", "--describe", "fp32=the big one", "--default", "student",
                  "--data", str(tiny_corpus), "--test"])
    m = read_manifest(out)
    assert list(m.variants) == ["int8-emb4", "fp32", "student"] and m.default_variant == "student"
    assert m.name == "served" and m.variants["student"].description == "the small one"
    assert m.variants["fp32"].description == "the big one"
    assert set(committed_files(out)) == m.referenced_files() | {"manifest.json"}  # no lexicon.tsv, checkpoint...
    student = m.variants["student"]
    assert student.network == read_manifest(small).network != m.network
    assert student.inputs == {"bigrams": "student.bigrams.txt"}  # its own bigrams; the same vocab.txt is shared
    assert student.crf == "student.crf.npz" and student.file == "model.student.onnx"
    assert "dev" in student.metrics and "test" in student.metrics
    assert student.extra["training"]["args"]["hidden"] == 4  # how the student was trained travels with it
    assert all(op_counts(out / v.file).get(lstm, 0) <= 1 for v in m.variants.values()
               for lstm in ("LSTM", "DynamicQuantizeLSTM"))  # served graphs: one bidirectional LSTM each
    for name, source, variant in (("int8-emb4", big, "int8-emb4"), ("fp32", big, "fp32"),
                                  ("student", small, "int8-emb4")):
        assert entities(out, name) == entities(source, variant), name
    candidate = tmp_path / "candidate"  # without --test the reserved split stays unread
    release.main([str(big), str(candidate), "--variants", "fp32", "--data", str(tiny_corpus)])
    assert set(read_manifest(candidate).variants["fp32"].metrics) == {"dev"}


def test_adopt_replaces_one_variant_and_leaves_the_other_files_byte_for_byte(runs, tmp_path, tiny_corpus):
    big, small = runs
    out = tmp_path / "served"
    release.main([str(big), str(out), "--variants", "int8-emb4,fp32", "--adopt", f"{big}:int8-emb4=student",
                  "--describe", "student=the first one"])
    kept = {f: (out / f).read_bytes() for f in read_manifest(out).referenced_files()
            if not f.startswith(("student.", "model.student"))}
    adopt.main([str(out), f"{small}:int8-emb4=student", "--data", str(tiny_corpus), "--test", "--default", "student"])
    m = read_manifest(out)
    assert list(m.variants) == ["int8-emb4", "fp32", "student"] and m.default_variant == "student"
    assert m.variants["student"].description == "the first one"  # kept unless --describe gives another
    assert m.variants["student"].network == read_manifest(small).network
    assert "test" in m.variants["student"].metrics and m.variants["student"].size_bytes == (
        out / m.variants["student"].file).stat().st_size
    assert all((out / f).read_bytes() == data for f, data in kept.items())
    assert set(committed_files(out)) == m.referenced_files() | {"manifest.json"}  # nothing stale left behind
    assert op_counts(out / m.variants["student"].file).get("DynamicQuantizeLSTM", 0) == 1
    assert entities(out, "student") == entities(small, "int8-emb4")
    assert entities(out, "int8-emb4") == entities(big, "int8-emb4")


def test_a_student_read_back_pruned_and_adopted_keeps_its_network_and_history(runs, tmp_path, tiny_corpus):
    """recover -> export -> prune -> adopt, as the shipped student was made: the served variant records the smaller
    network it has (recover reads it back from there) and every run behind it."""
    big, small = runs
    out = tmp_path / "served"
    release.main([str(big), str(out), "--variants", "fp32", "--adopt", f"{small}:int8-emb4=student"])
    run = tmp_path / "student-r"
    recover.main([str(out), "--variant", "student", "--out", str(run / "checkpoint.pt"), "--inputs"])
    export.main([str(run), "--no-eval"])
    prune.main([str(run), "--data", str(tiny_corpus), "--hidden", "2", "--heads", "0", "--bigram-min-count", "0",
                "--epochs", "1", "--teachers", str(run)])
    adopt.main([str(out), f"{run}:pruned-int8-emb4=student", "--data", str(tiny_corpus)])
    student = read_manifest(out).variants["student"]
    assert (student.network["hidden"], student.network["heads"]) == (2, 0)
    history = student.extra["training"]
    assert history["recovered_from"] == f"{out}:student" and history["base"] == read_manifest(small).training
    assert history["pruning"]["kept"]["hidden"] == 2 and "--heads 0" in history["pruning"]["command"]
    assert entities(out, "student") == entities(run, "pruned-int8-emb4")
    again = tmp_path / "again.pt"  # the recorded network is the one the graph has: it reads back again
    recover.main([str(out), "--variant", "student", "--out", str(again)])
    assert torch.load(again, weights_only=False)["config"]["hidden"] == 2


def test_adopting_a_variant_with_other_labels_is_refused(runs, tmp_path):
    big, small = runs
    odd = tmp_path / "odd"
    release.main([str(small), str(odd), "--variants", "fp32"])
    write_manifest(odd, replace(read_manifest(odd), labels=("O", "B-X", "I-X")))
    with pytest.raises(ValueError, match="labels"):
        release.main([str(big), str(tmp_path / "served"), "--variants", "fp32", "--adopt", f"{odd}:fp32=odd"])


def test_cut_bigrams_keeps_the_frequent_rows_and_every_other_weight_bit_for_bit(runs, tmp_path, tiny_corpus):
    big, _ = runs
    out = tmp_path / "cut"
    cut_bigrams.main([str(big), str(out), "--min-count", "2", "--data", str(tiny_corpus)])
    counts = bigram_counts([s.text for s in read_conll(tiny_corpus / "train.txt")])
    before, after = read_table(big / "bigrams.txt"), read_table(out / "bigrams.txt")
    assert set(after) == {k for k in before if k in SPECIALS or counts[k] >= 2} and 2 < len(after) < len(before)
    m, source = read_manifest(out), read_manifest(big)
    assert list(m.variants) == ["fp32"] and m.network["n_bigrams"] == len(after)
    assert m.variants["fp32"].size_bytes < source.variants["fp32"].size_bytes and "dev" in m.variants["fp32"].metrics

    def weights(model):
        graph = onnx.load(str(model / "model.fp32.onnx"))
        return {t.name: numpy_helper.to_array(t) for t in graph.graph.initializer}

    old, new = weights(big), weights(out)
    assert set(old) == set(new) and BIGRAM_TABLE in new
    for key, i in after.items():
        assert (new[BIGRAM_TABLE][i] == old[BIGRAM_TABLE][before[key]]).all(), key
    assert all((new[n] == old[n]).all() for n in old if n != BIGRAM_TABLE)
    # the cut network on a text = the whole one on the same text with its rare bigrams read as [UNK]
    kept = {before[k]: i for k, i in after.items()}
    to_new = np.array([kept.get(i, after[UNK]) for i in range(len(before))])
    to_unk = np.array([i if i in kept else before[UNK] for i in range(len(before))])
    feat = raner.load(big, variant="fp32", cache_size=0)._featurizer
    feeds = feat.batch([feat.encode(normalize(t)) for t in TEXTS[:2]])
    assert (to_unk[feeds["bigrams"]] != feeds["bigrams"]).any()  # the texts do have rare bigrams

    def emissions(model, bigrams):
        session = ort.InferenceSession(str(model / "model.fp32.onnx"), providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        return session.run(None, {k: v for k, v in {**feeds, "bigrams": bigrams}.items() if k in names})[0]

    assert np.array_equal(emissions(out, to_new[feeds["bigrams"]]), emissions(big, to_unk[feeds["bigrams"]]))


def test_add_companies_marks_listed_names_as_organisations_once(runs, tmp_path):
    big, _ = runs
    out = tmp_path / "served"
    release.main([str(big), str(out), "--variants", "fp32"])
    names = tmp_path / "names.txt"
    names.write_text("# listed\n*ST宁德时代A\n", encoding="utf-8")
    inputs = read_manifest(out).inputs
    lexicon_file = out / inputs["lexicon"]
    before = Lexicon.read(lexicon_file, inputs["lexicon_categories"])
    add_companies.main([str(out), "--names", str(names)])
    after = Lexicon.read(lexicon_file, inputs["lexicon_categories"])
    cats = after.categories
    assert "宁德时代" not in before.words
    assert after.words["宁德时代"] == (1 << cats.index("WORD")) | (1 << cats.index("ORG"))  # no LAC_ORG column here
    assert len(after) == len(before) + 1
    once = lexicon_file.read_bytes()
    add_companies.main([str(out), "--names", str(names)])
    assert lexicon_file.read_bytes() == once  # a second run changes nothing
    assert isinstance(raner.load(out, cache_size=0).predict("宁德时代发布公告"), list)


def test_add_companies_keeps_a_training_runs_readable_lexicon_the_same(runs, tmp_path):
    """A fine-tune reads a run's lexicon.tsv: after add_companies it holds what the packed lexicon holds."""
    big, _ = runs
    run = tmp_path / "run"
    shutil.copytree(big, run)
    inputs = read_manifest(run).inputs
    names = tmp_path / "names.txt"
    names.write_text("宁德时代\n", encoding="utf-8")
    assert (run / "lexicon.tsv").is_file() and "宁德时代" not in (run / "lexicon.tsv").read_text(encoding="utf-8")
    add_companies.main([str(run), "--names", str(names)])
    packed = Lexicon.read(run / inputs["lexicon"], inputs["lexicon_categories"])
    readable = Lexicon.read(run / "lexicon.tsv", inputs["lexicon_categories"])
    assert readable.words == packed.words and "宁德时代" in readable.words
