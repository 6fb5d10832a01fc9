"""Ray Data scale-out: a local Ray instance gives the same annotations as the single-process CLI."""
import json
import subprocess
import sys

import pytest

from raner.markup import read_marked_file

from .conftest import ROOT

pytestmark = pytest.mark.slow


def test_ray_batch_equals_the_cli(tmp_path):
    pytest.importorskip("ray", reason="Ray is an optional extra (requirements-ray.txt)")
    texts = [t for t, _ in read_marked_file(ROOT / "samples" / "news.txt")] * 5
    src = tmp_path / "in.jsonl"
    lines = (json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts))
    src.write_text("".join(lines), encoding="utf-8")
    cli = subprocess.run([sys.executable, "-m", "raner", "annotate", str(src), str(tmp_path / "cli.jsonl"),
                          "--variant", "fp32"], capture_output=True, text=True, cwd=ROOT)
    assert cli.returncode == 0, cli.stderr
    ray = subprocess.run([sys.executable, "-m", "raner.ray_batch", str(src), str(tmp_path / "ray.jsonl"),
                          "--variant", "fp32", "--batch-size", "32"], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert ray.returncode == 0, ray.stderr[-2000:]
    # the same lines, byte for byte: a file from either route reads and diffs the same
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "cli.jsonl").read_bytes()
