"""The benchmark command on a tiny model: every variant measured, files written, numbers sane."""
import json

import pytest

from compression import benchmark, export, train

pytestmark = pytest.mark.slow  # trains, exports and times a tiny model


@pytest.fixture(scope="module")
def tiny(tiny_corpus, tmp_path_factory):
    """A tiny model trained and exported once for this module's tests."""
    out = tmp_path_factory.mktemp("bench") / "tiny"
    train.main(["--data", str(tiny_corpus), "--out", str(out), "--epochs", "1", "--hidden", "8", "--char-dim", "8",
                "--bigram-dim", "4", "--heads", "1", "--bigram-min-count", "1"])
    export.main([str(out), "--data", str(tiny_corpus)])
    return out


def test_benchmark_writes_json_report_and_plots(tiny, tiny_corpus, tmp_path):
    out = tiny
    report = tmp_path / "BENCH.md"
    benchmark.main([str(out), "--data", str(tiny_corpus), "--repeats", "5", "--cache-requests", "200",
                    "--cold-runs", "1", "--report", str(report), "--test"])
    result = json.loads((out / "benchmark.json").read_text(encoding="utf-8"))
    assert set(result["variants"]) == {"fp32", "int8", "int8-emb4"}
    for r in result["variants"].values():
        for label in ("short", "typical", "long"):
            for threads in ("threads_1", "threads_2"):
                lat = r["latency"][label][threads]
                assert 0 < lat["median_ms"] <= lat["p95_ms"]
        for key in ("alone_threads_1", "alone_scores_threads_1"):
            alone = r["latency"]["typical"][key]
            assert 0 < alone["median_ms"] <= alone["p95_ms"]
        assert r["cold_start"]["peak_rss_mb"] > 10 and r["cold_start"]["process_seconds"] > 0
        assert 0 <= r["test"]["overall"]["f1"] <= 1 and r["throughput_chars_per_s"] > 0
    assert result["variants"]["fp32"]["agreement_with_fp32"] == 1.0
    assert result["ratios_vs_fp32"]["int8"]["size"] < 1
    assert result["ratios_vs_fp32"]["fp32"]["typical_latency_alone"] == 1.0
    assert 0 <= result["cache"]["lru_1024"]["hit_rate"] <= 1
    cal = result["calibration"]
    assert 0 <= cal["ece"] <= 1 and sum(b["count"] for b in cal["bins"]) == cal["entities"]
    text = report.read_text(encoding="utf-8")
    assert "| int8 |" in text and result["machine"]["cpu"] in text and "typical ms alone (1t; plain / scores)" in text
    assert result["command"].endswith("--test") and f"by `{result['command']}`" in text  # the command that ran
    assert (tmp_path / "docs" / "plots" / "tiny-size.png").is_file()


def test_benchmark_leaves_the_reserved_split_alone_unless_asked(tiny, tiny_corpus, tmp_path):
    """A candidate is benchmarked for speed; test F1 is for the model that ships (--test)."""
    out = tiny
    report = tmp_path / "BENCH.md"
    benchmark.main([str(out), "--data", str(tiny_corpus), "--repeats", "3", "--cache-requests", "50",
                    "--cold-runs", "1", "--report", str(report)])
    result = json.loads((out / "benchmark.json").read_text(encoding="utf-8"))
    assert not any("test" in r for r in result["variants"].values()) and "calibration" in result
    assert "scored only with `--test`" in report.read_text(encoding="utf-8")
