"""scripts/load.py: loopback-only targets, and its --quick run (load, soak, burst) against a freshly started app."""
import json
import subprocess
import sys

import pytest

from scripts.load import RSS_GROWTH_LIMIT_MB, RefusedTarget, check_loopback, percentile

from .conftest import ROOT


@pytest.mark.parametrize("url", ["http://127.0.0.1:7860", "http://127.0.0.2:80/", "http://[::1]:8000", "http://localhost:7860"])
def test_loopback_targets_are_accepted(url):
    assert check_loopback(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://10.0.0.1:7860", "http://192.168.1.1", "http://example.com", "http://0.0.0.0:7860",
                                 "ftp://127.0.0.1", "127.0.0.1:7860", "http://127.0.0.1.example.com"])
def test_other_targets_are_refused(url):
    with pytest.raises(RefusedTarget):
        check_loopback(url)


def test_refused_target_exits_2_before_sending_anything():
    out = subprocess.run([sys.executable, "scripts/load.py", "--url", "http://10.0.0.1:7860"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "loopback" in out.stderr and "Traceback" not in out.stderr


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50, 95, 99)
    assert percentile([], 50) is None and percentile([7.0], 99) == 7.0


@pytest.mark.slow
def test_quick_load_soak_and_burst(tmp_path):
    """A few seconds of each part: no failed request, bounded memory, the burst answered 200 or 503 + Retry-After."""
    report_file = tmp_path / "load.json"
    out = subprocess.run([sys.executable, "scripts/load.py", "--quick", "--json", str(report_file)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert report_file.is_file(), out.stdout + out.stderr
    report = json.loads(report_file.read_text(encoding="utf-8"))
    load, soak, burst = report["load"], report["soak"], report["burst"]
    assert load["failed"] == 0 and load["requests"] > 0 and load["rejected_503"] == 0, load["errors"]
    assert set(load["by_kind"]) == {"short", "typical", "max"}
    assert soak["failed"] == 0 and soak["requests"] == 1000, soak["errors"]
    assert soak["rss_mb"]["growth"] is not None and soak["rss_mb"]["growth"] < RSS_GROWTH_LIMIT_MB
    assert 0 < soak["cache"]["hit_rate"] < 1
    assert burst["failed"] == 0 and burst["ok"] + burst["rejected_503"] == burst["requests"], burst["errors"]
    assert burst["rejected_503"] > 0 and burst["ok"] >= burst["queue_limit"] - 2
    assert burst["healthy_after"] and burst["queue_after"]["running"] == burst["queue_after"]["waiting"] == 0
    assert report["ok"] and out.returncode == 0, out.stdout + out.stderr
