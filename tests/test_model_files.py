"""Model directories hold only what the runtime, the app and the benchmark read, and the manifest names no missing
file; a Git LFS pointer in place of a model file is reported as one, with the command that fetches the file."""
from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

import raner
from raner.manifest import LFS_POINTER, Manifest, read_manifest
from scripts.space import MODEL_EXTRA

from .conftest import ROOT, SHIPPED
from .test_manifest import small_copy  # noqa: F401  (fixture: the shipped manifest and one variant's files)

# What a model directory may hold besides the files its manifest names: the manifest itself, the files the app reads
# (benchmark.json: the stored figures of webapp/ui.py) and a README. Nothing else: every rebuild of a committed
# model file adds the whole file to the repository's history (CONTRIBUTING.md).
NOT_IN_MANIFEST = {"manifest.json", *MODEL_EXTRA, "README.md"}


def model_dirs() -> list[Path]:
    return sorted(p for p in (ROOT / "models").iterdir() if p.is_dir())


def committed_files(d: Path) -> list[str]:
    """Files of ``d`` that are committed or that `git add` would pick up (ignored ones, such as a rebuild's
    checkpoint.pt, are not); every file when this is not a git checkout."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
                             cwd=d, capture_output=True, check=True, timeout=30).stdout.decode("utf-8")
        names = {n for n in out.split("\0") if n}
    except (OSError, subprocess.SubprocessError):
        names = {p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file()}
    return sorted(n for n in names if (d / n).is_file())  # a file deleted but not yet staged is on its way out


@pytest.mark.parametrize("d", model_dirs(), ids=lambda d: d.name)
def test_every_model_file_is_named_by_the_manifest(d):
    assert (d / "manifest.json").is_file(), f"{d} has no manifest.json: nothing can read its files"
    unnamed = set(committed_files(d)) - read_manifest(d).referenced_files() - NOT_IN_MANIFEST
    assert not unnamed, (f"{d.relative_to(ROOT)}: {sorted(unnamed)} named by no manifest entry, so nothing serves "
                         "them; keep them in runs/ (CONTRIBUTING.md)")


@pytest.mark.parametrize("d", model_dirs(), ids=lambda d: d.name)
def test_the_manifest_names_no_missing_file(d):
    missing = sorted(f for f in read_manifest(d).referenced_files() if not (d / f).is_file())
    assert not missing, f"{d.relative_to(ROOT)}/manifest.json names files that are not there: {missing}"


class NoSession:
    """Stands in for an ONNX Runtime session: the test needs the files a variant opens, not the network."""

    def get_inputs(self) -> list:
        return []


def test_variant_files_are_what_the_runtime_opens(monkeypatch):
    """scripts/space.py bundles and this test checks ``variant_files``: it must list what loading a variant opens."""
    opened: list[str] = []
    original = Manifest.file

    def recording(self, name):
        opened.append(name)
        return original(self, name)

    monkeypatch.setattr(Manifest, "file", recording)
    monkeypatch.setattr(raner.recognizer, "_session", lru_cache(lambda file, threads: NoSession()))
    manifest = read_manifest(SHIPPED)
    try:
        for variant in manifest.variants:
            raner.recognizer.clear_loaded()
            opened.clear()
            raner.load(SHIPPED, variant)
            assert set(opened) == set(manifest.variant_files(variant)), variant
    finally:
        raner.recognizer.clear_loaded()


def lfs_pointer(size: int) -> bytes:
    return (LFS_POINTER + b"\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
            + f"size {size}\n".encode())


@pytest.mark.parametrize("name", ["model.int8-emb4.onnx", "vocab.txt", "crf.npz", "lexicon.npz"])
def test_a_git_lfs_pointer_says_to_run_git_lfs_pull(small_copy, name):  # noqa: F811
    path = small_copy / name
    path.write_bytes(lfs_pointer(path.stat().st_size))
    raner.recognizer.clear_loaded()
    try:
        with pytest.raises(raner.ModelError) as caught:
            raner.load(small_copy, variant="int8-emb4")
    finally:
        raner.recognizer.clear_loaded()
    message = str(caught.value)
    assert f"{path} is a Git LFS pointer" in message and f"run `git lfs pull` in {small_copy}" in message
    assert "onnxruntime" not in message and "make model" not in message  # not a corrupt file to rebuild


def test_a_file_that_merely_mentions_lfs_is_read(small_copy):  # noqa: F811
    """Only a file that starts like a pointer is one."""
    vocab = small_copy / "vocab.txt"
    vocab.write_bytes(vocab.read_bytes() + b"\n" + LFS_POINTER + b"\n")
    assert read_manifest(small_copy).file("vocab.txt") == vocab
