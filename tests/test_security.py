"""What a hostile or careless visitor can do: forged upload paths, oversized bodies, formula cells, broken files,
bad settings, too many heavy jobs; and a text's entities not depending on its batch-mates."""

import csv
import io
import json
import os
import subprocess
import sys
import threading
import time
import zipfile

import httpx
import pytest

from raner.annotate import Budget, annotate, csv_cell, read_docs
from raner.errors import LimitExceeded
from webapp.jobs import Gate, JobRefused, run_isolated
from webapp.limits import ConfigError, Limits, writable_temp_dir

from .conftest import ROOT, SHIPPED

# --- the Bulk tab reads only what Gradio received ---------------------------------------------------------------


def test_uploaded_file_refuses_paths_outside_the_upload_folder(tmp_path):
    from webapp.ui import uploaded_file

    root = tmp_path / "uploads"
    (root / "abc").mkdir(parents=True)
    good = root / "abc" / "mine.txt"
    good.write_text("马云在杭州\n", encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("password\n", encoding="utf-8")
    (root / "abc" / "link.txt").symlink_to(secret)
    limits = Limits()
    assert uploaded_file({"path": str(good), "orig_name": "新闻.txt"}, root, limits) == (good.resolve(), "新闻.txt")
    for forged in (
        str(secret),
        str(root / "abc" / ".." / ".." / "secret.txt"),
        str(root / "abc" / "link.txt"),
        str(SHIPPED / "vocab.txt"),
        str(root),
        "",
        None,
        5,
        "a\0b",
    ):
        with pytest.raises(Exception) as e:
            uploaded_file({"path": forged}, root, limits)
        assert "upload" in str(e.value) and str(tmp_path) not in str(e.value)
    with pytest.raises(Exception, match="file first"):
        uploaded_file(None, root, limits)


def test_a_bulk_job_reads_its_own_name_for_a_shared_upload(tmp_path):
    """Gradio gives two visitors who upload the same file one path: the first job takes it under a name of its own
    (the shared name goes), a second event on that path is told to upload again, and never deletes the first's."""
    from webapp.ui import take_upload, uploaded_file

    root = tmp_path / "uploads"
    (root / "abc").mkdir(parents=True)
    shared = root / "abc" / "news.txt"
    shared.write_text("马云在杭州\n", encoding="utf-8")
    own = take_upload(shared, root / "jobs")
    assert own.read_text(encoding="utf-8") == "马云在杭州\n" and own.parent == root / "jobs" and own.suffix == ".txt"
    assert not shared.exists()
    with pytest.raises(Exception, match="upload the file again"):
        take_upload(shared, root / "jobs")
    with pytest.raises(Exception, match="upload is gone"):  # a second event on the path: told why, not "forged"
        uploaded_file({"path": str(shared)}, root, Limits())
    assert own.exists()
    shared.write_text("x\n", encoding="utf-8")
    assert uploaded_file({"path": str(shared), "orig_name": "a\0b\x07.txt"}, root, Limits())[1] == "ab.txt"


def test_an_upload_gone_is_told_the_same_way_without_hard_links(tmp_path, monkeypatch):
    """On a file system without hard links the upload is copied; a path already taken still says upload again."""
    from webapp import ui

    def no_links(src, dst):
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(ui.os, "link", no_links)
    shared = tmp_path / "abc" / "news.txt"
    shared.parent.mkdir()
    shared.write_text("马云在杭州\n", encoding="utf-8")
    own = ui.take_upload(shared, tmp_path / "jobs")
    assert own.read_text(encoding="utf-8") == "马云在杭州\n" and not shared.exists()
    with pytest.raises(Exception, match="upload the file again"):
        ui.take_upload(shared, tmp_path / "jobs")


def _bulk_fn_index(server: str) -> int:
    config = httpx.get(server + "/config").json()
    button = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "rl-bulk-run")
    return next(i for i, d in enumerate(config["dependencies"]) if [button, "click"] in [list(t) for t in d["targets"]])


def _call_event(server: str, fn_index: int, data: list, timeout: float = 60) -> dict:
    """Join Gradio's queue as the browser does and return the final message of the event."""
    session = f"probe{time.time_ns()}"
    r = httpx.post(
        server + "/gradio_api/queue/join",
        json={"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None, "trigger_id": None},
        timeout=timeout,
    )
    assert r.status_code == 200, r.text
    with httpx.stream("GET", server + f"/gradio_api/queue/data?session_hash={session}", timeout=timeout) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg
    raise AssertionError("no process_completed message")


def test_forged_path_sent_to_the_bulk_event_is_refused(server):
    forged = {
        "path": str(SHIPPED / "vocab.txt"),
        "orig_name": "vocab.txt",
        "meta": {"_type": "gradio.FileData"},
    }
    t0 = time.perf_counter()
    msg = _call_event(server, _bulk_fn_index(server), [forged, "text", "", "jsonl"])
    assert time.perf_counter() - t0 < 5
    assert msg["success"] is False
    text = json.dumps(msg, ensure_ascii=False)
    assert "not uploaded" in text and "[PAD]" not in text


def test_an_uploaded_file_is_annotated_once_and_removed(server, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("\ufefftext,id\n=SUM(A1),1\n马云在杭州,2\n", encoding="utf-8")  # Excel's BOM, a formula cell
    with open(src, "rb") as f:
        uploaded = httpx.post(server + "/gradio_api/upload", files={"files": ("in.csv", f, "text/csv")}).json()
    path = uploaded[0]
    msg = _call_event(
        server,
        _bulk_fn_index(server),
        [{"path": path, "orig_name": "in.csv", "meta": {"_type": "gradio.FileData"}}, "text", "", "csv"],
    )
    assert msg["success"] is True, msg
    files, summary = msg["output"]["data"]
    assert "2** documents" in summary
    assert files[0]["path"].endswith("in.entities.csv.zip")
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(server + "/gradio_api/file=" + files[0]["path"]).content))
    assert archive.namelist() == ["in.entities.csv"]
    rows = list(csv.DictReader(archive.read("in.entities.csv").decode("utf-8").splitlines()))
    assert rows[0]["text"] == "'=SUM(A1)" and json.loads(rows[1]["entities"])[0]["text"] == "马云"
    assert not os.path.exists(path)  # the upload is deleted once read


def test_gradio_routes_refuse_oversized_bodies_before_parsing(server):
    big = "字" * 30_000
    t0 = time.perf_counter()
    r = httpx.post(server + "/gradio_api/queue/join", json={"data": [big * 10], "fn_index": 0, "session_hash": "x"})
    assert r.status_code == 413 and time.perf_counter() - t0 < 1
    r = httpx.post(server + "/gradio_api/upload", files={"files": ("a.txt", b"x" * (Limits().upload_bytes + 100_000))})
    assert r.status_code == 413


# --- files that are broken, ragged or hostile -----------------------------------------------------------------


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped():
    for cell in ("=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx"):
        assert csv_cell(cell) == "'" + cell
    assert csv_cell("马云") == "马云" and csv_cell({"a": 1}) == '{"a":1}' and csv_cell(None) == ""


def test_readers_report_bad_lines_instead_of_failing(tmp_path):
    src = tmp_path / "in.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    src.write_text(
        '{"text": "马云", "id": 1}\n{not json\n' + deep + '\n[1, 2]\n{"text": "杭州", "extra": {"k": 2}}\n',
        encoding="utf-8",
    )
    docs = list(read_docs(src))
    assert [d.error is None for d in docs] == [True, False, False, False, True]
    assert "nested too deeply" in docs[2].error or "JSON" in docs[2].error
    stats = annotate(src, {"csv": tmp_path / "o.csv", "jsonl": tmp_path / "o.jsonl"}, progress=False)
    assert stats["documents"] == 2 and stats["skipped"] == 3 and [e["line"] for e in stats["errors"]] == [2, 3, 4]
    rows = list(csv.DictReader(open(tmp_path / "o.csv", encoding="utf-8")))
    assert [r["text"] for r in rows] == ["马云", "杭州"] and rows[1]["id"] == ""  # ragged rows keep shared columns
    assert json.loads((tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()[1])["extra"] == {"k": 2}


def test_csv_with_bom_and_a_huge_field(tmp_path):
    src = tmp_path / "in.csv"
    with open(src, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "note"])
        w.writerow(["马云在杭州", "x" * 200_000])  # over csv's default 128 KB field limit
        w.writerow(["阿里巴巴", "y"])
    docs = list(read_docs(src))
    assert [d.text for d in docs] == ["马云在杭州", "阿里巴巴"] and all(d.error is None for d in docs)
    with pytest.raises(ValueError, match="no column 'body'; the columns are 'text', 'note'"):
        list(read_docs(src, "body"))


def test_budget_bounds_documents_characters_and_output(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("\n" * 1000, encoding="utf-8")
    with pytest.raises(LimitExceeded, match="more than 100 documents"):
        annotate(src, tmp_path / "o.jsonl", progress=False, budget=Budget(documents=100))
    with pytest.raises(LimitExceeded, match="output would be larger"):  # empty lines cost more out than in
        annotate(src, tmp_path / "o.jsonl", progress=False, budget=Budget(output_bytes=3 * src.stat().st_size))
    src.write_text("马云在杭州\n" * 50 + "长" * 500 + "\n", encoding="utf-8")
    with pytest.raises(LimitExceeded, match="more than 200 characters"):
        annotate(src, tmp_path / "o.jsonl", progress=False, budget=Budget(characters=200))
    stats = annotate(src, tmp_path / "o.jsonl", progress=False, budget=Budget(document_chars=100))
    assert stats["documents"] == 50 and stats["errors"] == [
        {"line": 51, "error": "document has 500 characters; the limit is 100"}
    ]


# --- settings and heavy jobs ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_bad_settings_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="RANER_THREADS='two' is not a whole number"):
        Limits.from_env({"RANER_THREADS": "two"})
    with pytest.raises(ConfigError, match="RANER_MAX_CHARS=0 must be at least 1"):
        Limits.from_env({"RANER_MAX_CHARS": "0"})
    assert Limits.from_env({"RANER_MAX_CHARS": "500"}).cache_max_chars == 500
    with pytest.raises(ConfigError, match="RANER_UPLOADS_MB=8 must be at least twice RANER_UPLOAD_MB=5"):
        Limits.from_env({"RANER_UPLOADS_MB": "8"})
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    env = {**os.environ, "GRADIO_TEMP_DIR": str(blocker / "sub")}
    for extra in ({"RANER_THREADS": "x"}, {"RANER_MAX_CHARS": "-5"}, {}):
        out = subprocess.run(
            [sys.executable, "app.py"], cwd=ROOT, env={**env, **extra}, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr


def test_an_unwritable_upload_folder_is_a_config_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(blocker / "sub"))
    with pytest.raises(ConfigError, match="set GRADIO_TEMP_DIR to a writable folder"):
        writable_temp_dir()


def test_gate_turns_away_a_second_job_of_one_visitor_and_a_full_queue():
    gate = Gate(max_waiting=1)
    started, release = threading.Event(), threading.Event()

    def hold(visitor):
        with gate.admit(visitor, "job"):
            started.set()
            release.wait(5)

    first = threading.Thread(target=hold, args=("a",))
    first.start()
    started.wait(5)
    with pytest.raises(JobRefused, match="already have"):
        with gate.admit("a", "job"):
            pass
    second = threading.Thread(target=hold, args=("b",))
    second.start()
    time.sleep(0.2)
    with pytest.raises(JobRefused, match="busy"):
        with gate.admit("c", "job"):
            pass
    release.set()
    first.join()
    second.join()
    with gate.admit("c", "job"):
        pass


@pytest.mark.slow
def test_a_job_over_its_time_budget_is_stopped():
    t0 = time.perf_counter()
    with pytest.raises(JobRefused, match="took longer than"):
        run_isolated(
            "benchmark",
            {"model": str(SHIPPED), "texts": ["马云"] * 5, "repeats": 10_000, "threads": 1},
            3,
            "benchmark",
        )
    assert time.perf_counter() - t0 < 10


# --- same text, same entities, whatever its batch-mates ------------------------------------------------------


@pytest.mark.slow
def test_batches_give_what_single_calls_give_for_every_variant():
    import raner
    from compression.data import read_conll

    dev = ROOT.parent / "shared" / "data" / "msra" / "dev.txt"
    if not dev.is_file():
        pytest.skip("needs ../shared/data/msra/dev.txt")
    texts = [s.text for s in read_conll(dev)]
    for variant in raner.load().variants:
        rec = raner.load(variant=variant, cache_size=0)
        batched = rec.predict_batch(texts)
        single = [rec.predict(t) for t in texts]
        assert batched == single, variant
