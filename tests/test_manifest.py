"""The typed manifest: the shipped one reads and writes back unchanged; registering a variant rewrites one entry."""
from __future__ import annotations

import json
import shutil

import pytest

import raner
from raner.manifest import Member, Variant, read_manifest, register_variant, write_manifest

from .conftest import SHIPPED


def test_shipped_manifest_round_trips(tmp_path):
    write_manifest(tmp_path, read_manifest(SHIPPED))
    written = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert written == json.loads((SHIPPED / "manifest.json").read_text(encoding="utf-8"))


def test_variant_fields_are_typed(tmp_path):
    raw = json.loads((SHIPPED / "manifest.json").read_text(encoding="utf-8"))
    raw["variants"]["ensemble"] = {"file": "e.onnx", "crf": "crf.ensemble.npz",
                                   "members": [{"dir": "runs/m1", "training": {"epochs": 3}}]}
    raw["variants"]["student"] = {"file": "s.onnx", "inputs": {"bigrams": "student.bigrams.txt"},
                                  "network": {"hidden": 64}, "batch_invariant": False, "future_field": 1}
    (tmp_path / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    m = read_manifest(tmp_path)
    ensemble, student = m.variants["ensemble"], m.variants["student"]
    assert ensemble.crf == "crf.ensemble.npz" and m.variant_crf("int8-emb4") == m.crf
    assert ensemble.members == (Member("runs/m1", {"epochs": 3}),)
    assert m.variant_inputs("student") == {**m.inputs, "bigrams": "student.bigrams.txt"}
    assert m.variant_inputs("int8-emb4") == m.inputs
    assert student.network == {"hidden": 64} and not student.batch_invariant and student.extra == {"future_field": 1}
    assert m.variant_files("student") == ["s.onnx", m.crf, m.inputs["vocab"], "student.bigrams.txt",
                                          m.inputs["lexicon"]]


@pytest.fixture
def small_copy(tmp_path):
    """The shipped manifest and one variant's files, in a folder of their own."""
    m = read_manifest(SHIPPED)
    for name in {m.variants["int8-emb4"].file, *[v for v in m.inputs.values() if isinstance(v, str)], m.crf}:
        shutil.copyfile(SHIPPED / name, tmp_path / name)
    write_manifest(tmp_path, m)
    return tmp_path


def test_register_variant_replaces_one_entry_and_clears_loaded_files(small_copy):
    before = raner.load(small_copy, variant="int8-emb4")
    old = read_manifest(small_copy).variants["int8-emb4"]
    new = Variant(name="int8-emb4", file=old.file, size_bytes=1, description="rewritten")
    after = register_variant(small_copy, new, default=True)
    assert after.default_variant == "int8-emb4" and after.variants["int8-emb4"] == new
    assert list(after.variants) == list(read_manifest(SHIPPED).variants)  # replaced in place
    assert raner.load(small_copy).manifest is not before.manifest  # the runtime read the new file


def test_writing_a_default_that_is_not_a_variant_is_refused(small_copy):
    from dataclasses import replace

    with pytest.raises(ValueError, match="default_variant"):
        write_manifest(small_copy, replace(read_manifest(small_copy), default_variant="nope"))
