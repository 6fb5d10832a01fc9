"""Bulk annotation: formats, offsets, workers give the same output as one process."""
import csv
import json
import subprocess
import sys
import zipfile

import pytest

import raner
from raner.annotate import Budget, annotate, check_budget
from raner.errors import LimitExceeded
from raner.markup import read_marked_file

from .conftest import ROOT

TEXTS = [t for t, _ in read_marked_file(ROOT / "samples" / "news.txt")]


def test_jsonl_in_jsonl_out_keeps_fields(tmp_path):
    src = tmp_path / "in.jsonl"
    lines = (json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(TEXTS))
    src.write_text("".join(lines), encoding="utf-8")
    stats = annotate(src, tmp_path / "out.jsonl", "jsonl", progress=False)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    rec = raner.load(cache_size=0, scores=True)
    assert [r["id"] for r in rows] == list(range(len(TEXTS)))
    assert [r["entities"] for r in rows] == [[e.to_dict() for e in ents] for ents in rec.predict_batch(TEXTS)]
    assert stats["documents"] == len(TEXTS) and stats["characters"] == sum(map(len, TEXTS))
    assert sum(stats["entities"].values()) == sum(len(r["entities"]) for r in rows)


def test_csv_column_and_conll(tmp_path):
    src = tmp_path / "in.csv"
    with open(src, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "body"])
        for i, t in enumerate(TEXTS[:5]):
            w.writerow([i, t])
    annotate(src, tmp_path / "out.csv", "csv", column="body", progress=False)
    rows = list(csv.DictReader(open(tmp_path / "out.csv", encoding="utf-8")))
    assert [r["id"] for r in rows] == ["0", "1", "2", "3", "4"] and all("entities" in r for r in rows)
    annotate(src, tmp_path / "out.conll", "conll", column="body", progress=False)
    blocks = (tmp_path / "out.conll").read_text(encoding="utf-8").strip().split("\n\n")
    assert len(blocks) == 5 and "".join(line.split("\t")[0] for line in blocks[0].splitlines()) == TEXTS[0]
    with pytest.raises(ValueError, match="column"):
        annotate(src, tmp_path / "x.csv", "csv", column="nope", progress=False)


@pytest.mark.slow
def test_cli_with_workers_equals_single_process(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(TEXTS * 20) + "\n", encoding="utf-8")
    for workers in ("1", "2"):
        out = subprocess.run([sys.executable, "-m", "raner", "annotate", str(src), str(tmp_path / f"w{workers}.jsonl"),
                              "--workers", workers], capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stderr.strip().splitlines()[-1])["documents"] == len(TEXTS) * 20
    assert (tmp_path / "w1.jsonl").read_text(encoding="utf-8") == (tmp_path / "w2.jsonl").read_text(encoding="utf-8")


def test_several_formats_in_one_pass(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(TEXTS[:4]) + "\n", encoding="utf-8")
    stats = annotate(src, {"jsonl": tmp_path / "a.jsonl", "conll": tmp_path / "a.conll"}, progress=False)
    assert stats["documents"] == 4
    assert len((tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()) == 4
    assert len((tmp_path / "a.conll").read_text(encoding="utf-8").strip().split("\n\n")) == 4


def test_check_budget_refuses_what_annotate_would_without_a_model(tmp_path):
    many = tmp_path / "many.txt"
    many.write_text("马云在杭州。\n" * 11, encoding="utf-8")
    with pytest.raises(LimitExceeded, match="more than 10 documents"):
        check_budget(many, "text", Budget(documents=10))
    with pytest.raises(LimitExceeded, match="more than 60 characters"):
        check_budget(many, "text", Budget(characters=60))
    check_budget(many, "text", Budget(documents=11, characters=66))  # exactly at the bounds: accepted
    table = tmp_path / "t.csv"
    table.write_text("body\n马云\n", encoding="utf-8")
    with pytest.raises(ValueError, match="column"):
        check_budget(table, "text", Budget())


def test_a_zip_target_holds_the_plain_output_and_the_bound_counts_its_compressed_bytes(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("马云在杭州阿里巴巴总部发表演讲。\n" * 300, encoding="utf-8")
    annotate(src, tmp_path / "plain.jsonl", progress=False)
    annotate(src, tmp_path / "in.entities.jsonl.zip", progress=False, budget=Budget(output_bytes=src.stat().st_size))
    archive = zipfile.ZipFile(tmp_path / "in.entities.jsonl.zip")
    assert archive.namelist() == ["in.entities.jsonl"]
    assert archive.read("in.entities.jsonl") == (tmp_path / "plain.jsonl").read_bytes()
    assert (tmp_path / "plain.jsonl").stat().st_size > 3 * src.stat().st_size  # what the zip keeps off the disk
    with pytest.raises(LimitExceeded, match="output would be larger"):
        annotate(src, tmp_path / "plain2.jsonl", progress=False, budget=Budget(output_bytes=src.stat().st_size))


def test_cli_reads_the_format_under_a_zip_suffix(tmp_path):
    from raner.__main__ import main

    src = tmp_path / "in.txt"
    src.write_text("马云在杭州。\n", encoding="utf-8")
    assert main(["annotate", str(src), str(tmp_path / "out.csv.zip")]) == 0
    rows = list(csv.DictReader(zipfile.ZipFile(tmp_path / "out.csv.zip").read("out.csv").decode("utf-8").splitlines()))
    assert rows[0]["text"] == "马云在杭州。" and json.loads(rows[0]["entities"])[0]["text"] == "马云"


def test_lines_that_are_not_utf8_are_skipped_and_listed_not_fatal(tmp_path):
    """One undecodable byte in a big file: its line is reported, every other line annotated (it stopped the job, the
    output cut short, with a buffer position instead of a line number)."""
    for suffix, good, bad in ((".txt", "马云在杭州\n", b"\xff\xfe\n"),
                              (".jsonl", '{"text": "马云在杭州"}\n', b'{"text": "\xff"}\n'),
                              (".csv", "马云在杭州\n", b"\xffabc\n")):
        src = tmp_path / f"in{suffix}"
        head = b"text\n" if suffix == ".csv" else b""
        src.write_bytes(head + good.encode("utf-8") * 3000 + bad + good.encode("utf-8"))
        stats = annotate(src, tmp_path / "out.jsonl", "jsonl", progress=False)
        line = 3001 + (suffix == ".csv")
        assert stats["documents"] == 3001 and stats["skipped"] == 1, (suffix, stats)
        assert stats["errors"] == [{"line": line, "error": "not UTF-8 text (save the file as UTF-8)"}]


def test_the_output_may_not_be_the_input(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("马云在杭州\n", encoding="utf-8")
    with pytest.raises(ValueError, match="is the input file"):
        annotate(src, tmp_path / "." / "a.txt", "jsonl", progress=False)
    assert src.read_text(encoding="utf-8") == "马云在杭州\n"
