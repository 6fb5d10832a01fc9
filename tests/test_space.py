"""The Space bundle (scripts/space.py): what it holds, the app started from it alone, and push failing on one line
without a token or a network. Nothing here reaches the network: the hub's API is replaced by stand-ins."""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import os
import statistics
import subprocess
import sys
import time

import httpx
import pytest

import raner
from raner.manifest import read_manifest
from scripts import space
from scripts.load import rss_mb
from webapp.samples import sample_texts

from .conftest import ROOT, SHIPPED, free_port

MODEL = space.MODEL.as_posix()

BUDGET_BYTES = 80_000_000  # the target for the bundle
SEED = "马云在杭州阿里巴巴总部发表演讲"


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def shipped_manifest_digest() -> str:
    return digest(SHIPPED / "manifest.json")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, shipped_manifest_digest):
    """The default bundle (the default variant and fp32), written once for the module: (folder, {file: size})."""
    out = tmp_path_factory.mktemp("space") / "bundle"
    return out, dict(space.bundle(out))


def test_bundle_holds_the_app_and_only_the_served_variants(bundle, shipped_manifest_digest):
    out, files = bundle
    for needed in ("app.py", "requirements.txt", "README.md", "raner/__init__.py", "raner/recognizer.py",
                   "webapp/ui.py", "webapp/worker.py", "theme/__init__.py", "theme/cyberpunk.css", "samples/news.txt",
                   f"{MODEL}/manifest.json", f"{MODEL}/benchmark.json"):
        assert needed in files, needed
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    assert not [f for f in files if f.split("/")[0] in ("tests", "compression", "scripts", "runs", "build", "docs")]
    shipped = read_manifest(SHIPPED)
    bundled = read_manifest(out / space.MODEL)
    assert list(bundled.variants) == [shipped.default_variant, "fp32"]
    assert bundled.default_variant == shipped.default_variant
    assert bundled.variants == {n: shipped.variants[n] for n in bundled.variants}  # entries copied unchanged
    model_files = {f.split("/", 2)[2] for f in files if f.startswith(f"{MODEL}/")}
    assert model_files == {"manifest.json", "benchmark.json"} | bundled.referenced_files()
    for name in model_files - {"manifest.json"}:
        assert files[f"{MODEL}/{name}"] == (SHIPPED / name).stat().st_size, name
    assert digest(SHIPPED / "manifest.json") == shipped_manifest_digest  # the repository's manifest is untouched


def test_bundle_pins_the_versions_tested_here(bundle):
    out, _ = bundle
    pins = dict(line.split("==") for line in (out / "requirements.txt").read_text(encoding="utf-8").splitlines()
                if line and not line.startswith("#"))
    assert {"gradio", "fastapi", "uvicorn", "onnxruntime", "numpy", "pandas"} <= set(pins)
    for name, version in pins.items():
        assert importlib.metadata.version(name) == version, name


def test_bundle_readme_has_the_space_front_matter(bundle):
    out, _ = bundle
    text = (out / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    meta = dict(line.split(": ", 1) for line in text.split("\n---\n", 1)[0].splitlines()[1:])
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert meta["sdk_version"] == importlib.metadata.version("gradio")
    assert meta["python_version"] == f'"{sys.version_info.major}.{sys.version_info.minor}"'
    assert {"title", "emoji", "colorFrom", "colorTo", "license"} <= set(meta)
    assert len(meta.get("short_description", "")) <= 60  # the hub refuses a longer one
    assert "CC-CEDICT" in text and "CC BY-SA 4.0" in text  # the lexicon's share-alike names travel with a notice


def test_bundle_size_is_within_budget(bundle):
    _, files = bundle
    total = sum(files.values())
    print(f"\nbundle: {total:,} bytes ({total / 1e6:.1f} MB) in {len(files)} files")
    assert total < BUDGET_BYTES, (f"bundle is {total / 1e6:.1f} MB, over the {BUDGET_BYTES / 1e6:.0f} MB budget; "
                                  f"largest: {sorted(files.items(), key=lambda kv: -kv[1])[:3]}")


def test_bundle_command_prints_every_file_and_the_total(tmp_path, capsys):
    out = tmp_path / "one"
    assert space.main(["bundle", str(out), "--variants", "int8-emb4"]) == 0
    printed = capsys.readouterr().out.splitlines()
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert [line.split()[-1] for line in printed[:-1]] == files
    total = sum((out / f).stat().st_size for f in files)
    assert printed[-1].split()[0] == f"{total:,}" and "total" in printed[-1]
    assert read_manifest(out / space.MODEL).default_variant == "int8-emb4"  # the first one listed


@pytest.mark.parametrize("args,needle", [
    (["--variants", "fp32,nope"], "'nope' not among"),
    (["--variants", ","], "none given"),
])
def test_bundle_refuses_unknown_variants(tmp_path, capsys, args, needle):
    assert space.main(["bundle", str(tmp_path / "b"), *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_bundle_does_not_overwrite_a_folder_unless_forced(tmp_path, capsys):
    out = tmp_path / "b"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    assert space.main(["bundle", str(out), "--variants", "int8-emb4"]) == 2
    assert "--force" in capsys.readouterr().err and (out / "keep.txt").is_file()
    assert space.main(["bundle", str(ROOT), "--variants", "int8-emb4", "--force"]) == 2
    assert "refusing" in capsys.readouterr().err and (ROOT / "app.py").is_file()
    assert space.main(["bundle", str(out), "--variants", "int8-emb4", "--force"]) == 0
    assert not (out / "keep.txt").exists() and (out / "app.py").is_file()


# ---------------------------------------------------------------- push, with the hub's API replaced


class NoHub:
    """An HfApi that must not be used: the command has to stop before it talks to the hub."""

    def __init__(self, *args, **kwargs):
        raise AssertionError("HfApi was created although the push should have stopped first")


class RecordingHub:
    calls: list = []

    def __init__(self, token=None, **kwargs):
        self.calls.append(("HfApi", {"token": token}))

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        self.calls.append(("upload_folder", kwargs))


def failing_hub(error: BaseException):
    class FailingHub(RecordingHub):
        def create_repo(self, repo_id, **kwargs):
            raise error

    return FailingHub


def transport_error(kind: str) -> BaseException:
    """An error of the HTTP library huggingface_hub uses (httpx2 in 2.x), as it raises it."""
    from huggingface_hub import errors

    transport = importlib.import_module(errors.HTTPError.__module__.split(".")[0])
    request = transport.Request("POST", "https://huggingface.co/api/repos/create")
    if kind == "connect":
        return transport.ConnectError("[Errno -3] Temporary failure in name resolution", request=request)
    response = transport.Response(401, request=request, json={"error": "Invalid credentials in Authorization header"})
    return errors.HfHubHTTPError("401 Client Error: Unauthorized for url: https://huggingface.co/api/repos/create\n"
                                 "Invalid credentials in Authorization header", response=response)


@pytest.fixture
def small_bundle(tmp_path):
    out = tmp_path / "b"
    space.bundle(out, "int8-emb4")
    return out


def push(monkeypatch, capsys, hub, folder, token: str | None = "hf_not_a_real_token", name: str = "someone/raner-lite"):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", hub)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    if token is None:
        monkeypatch.delenv("HF_TOKEN", raising=False)
    else:
        monkeypatch.setenv("HF_TOKEN", token)
    code = space.main(["push", str(folder), "--space", name])
    out, err = capsys.readouterr()
    return code, out, err


def test_push_without_a_token_stops_on_one_line(monkeypatch, capsys, small_bundle):
    code, _, err = push(monkeypatch, capsys, NoHub, small_bundle, token=None)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "HF_TOKEN is not set" in err


@pytest.mark.parametrize("kind,needle", [("connect", "ConnectError: [Errno -3] Temporary failure in name resolution"),
                                         ("refused", "HfHubHTTPError: 401 Client Error: Unauthorized"),
                                         ("offline", "OfflineModeIsEnabled")])
def test_push_failures_at_the_hub_stop_on_one_line(monkeypatch, capsys, small_bundle, kind, needle):
    if kind == "offline":
        from huggingface_hub.errors import OfflineModeIsEnabled
        error = OfflineModeIsEnabled("Cannot reach https://huggingface.co: offline mode is enabled.")
    else:
        error = transport_error(kind)
    code, _, err = push(monkeypatch, capsys, failing_hub(error), small_bundle)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: cannot push to Space someone/raner-lite: ") and needle in err


def test_push_refuses_a_bad_space_name_or_folder_before_the_hub(monkeypatch, capsys, small_bundle, tmp_path):
    code, _, err = push(monkeypatch, capsys, NoHub, small_bundle, name="no-slash")
    assert code == 2 and "USER/NAME" in err
    code, _, err = push(monkeypatch, capsys, NoHub, tmp_path / "empty")
    assert code == 2 and "not a bundle" in err


def test_push_creates_the_space_and_uploads_the_folder(monkeypatch, capsys, small_bundle):
    RecordingHub.calls = []
    code, out, _ = push(monkeypatch, capsys, RecordingHub, small_bundle)
    assert code == 0 and "https://huggingface.co/spaces/someone/raner-lite" in out
    (_, api), (_, create), (_, upload) = RecordingHub.calls
    assert api == {"token": "hf_not_a_real_token"}
    assert create["repo_id"] == "someone/raner-lite" and create["repo_type"] == "space"
    assert create["space_sdk"] == "gradio" and create["exist_ok"] is True
    assert upload["repo_id"] == "someone/raner-lite" and upload["repo_type"] == "space"
    assert upload["folder_path"] == str(small_bundle)


# ---------------------------------------------------------------- the app, started from the bundle alone


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat): a start-up cost that load does not inflate."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fifty_char_texts(n: int) -> list[str]:
    """``n`` distinct 50-character news texts (distinct, so the app's result cache never answers)."""
    joined = "".join(sample_texts())
    return [joined[i * 37 : i * 37 + 50] for i in range(n)]


@pytest.mark.slow
def test_app_starts_from_the_bundle_and_serves_every_door(bundle, tmp_path):
    out, files = bundle
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("RANER_MODEL", "PYTHONPATH")}
    env.update(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False",
               PYTHONDONTWRITEBYTECODE="1")  # the bundle stays as written
    log = open(tmp_path / "app.log", "w+", encoding="utf-8")  # a file: a pipe nobody reads could fill up
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=out, env=env, stdout=log, stderr=subprocess.STDOUT,
                            text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, trust_env=False, timeout=30) as client:
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise AssertionError("app.py exited early:\n" + log.read())
                try:
                    health = client.get("/api/health")
                    if health.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.perf_counter() - started < 90, "app.py did not answer within 90 s"
                time.sleep(0.05)
            cold_start = time.perf_counter() - started
            rss_started, cpu_started = rss_mb(proc.pid), cpu_seconds(proc.pid)

            bundled = read_manifest(out / space.MODEL)
            h = health.json()
            assert h["status"] == "ok" and h["model"] == SHIPPED.name
            assert h["variants"] == list(bundled.variants) and h["default_variant"] == bundled.default_variant

            expected = {"entities": [e.to_dict() for e in raner.load(SHIPPED, scores=True).predict(SEED)]}
            assert {(e["text"], e["type"]) for e in expected["entities"]} >= {("马云", "PER"), ("杭州", "LOC")}
            from gradio_client import Client

            assert Client(url + "/", verbose=False).predict(SEED, api_name="/ner") == expected
            r = client.post("/api/ner", json={"text": SEED})
            assert r.status_code == 200 and r.json() == expected
            r = client.post("/api/ner", json={"text": SEED, "variant": "fp32"})
            assert r.status_code == 200 and {(e["text"], e["type"]) for e in r.json()["entities"]} >= {("马云", "PER")}
            left_out = next(v for v in raner.load(SHIPPED).variants if v not in bundled.variants)
            r = client.post("/api/ner", json={"text": SEED, "variant": left_out})
            assert r.status_code == 422 and "unknown variant" in r.text  # not bundled, so not served

            ms, cpu_before = [], cpu_seconds(proc.pid)
            for text in fifty_char_texts(31):
                t0 = time.perf_counter()
                assert client.post("/api/ner", json={"text": text}).status_code == 200
                ms.append((time.perf_counter() - t0) * 1000)
            cpu_ms = (cpu_seconds(proc.pid) - cpu_before) * 1000 / len(ms)
            rss_after = rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    total = sum(files.values())
    print(f"\nbundle {total / 1e6:.1f} MB; cold start {cold_start:.1f} s to the first /api/health answer "
          f"({cpu_started:.1f} s of CPU); RSS {rss_started:.0f} MB after start-up, {rss_after:.0f} MB after "
          f"{len(ms) + 4} requests (fp32 loaded); REST, one 50-character text: median {statistics.median(ms):.1f} ms, "
          f"max {max(ms):.1f} ms over {len(ms)}, {cpu_ms:.1f} ms of server CPU each ({os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f})")
