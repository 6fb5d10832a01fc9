import json
import subprocess
import sys

import raner

from .conftest import ROOT

SEED = "马云在杭州阿里巴巴总部发表演讲"


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "raner", *args], input=stdin, capture_output=True, text=True, cwd=ROOT)


def test_cli_prints_the_seed_contract():
    out = run(SEED)
    assert out.returncode == 0, out.stderr
    expected = {"entities": [e.to_dict() for e in raner.load(scores=True).predict(SEED)]}
    assert json.loads(out.stdout) == expected


def test_cli_reads_lines_from_stdin():
    out = run(stdin="北京欢迎你\n\n新华社上海电\n")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 3 and lines[1] == {"entities": []}
    assert all(set(lines[0]) == {"entities"} for _ in lines)


def test_cli_reports_unknown_variant_without_traceback():
    out = run("--variant", "nope", "x")
    assert out.returncode == 2
    assert "unknown variant" in out.stderr and "Traceback" not in out.stderr
