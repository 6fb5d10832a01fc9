"""Reliability and security: bad input at every door, Unicode offsets (hypothesis), no file-system exposure, faults."""
from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from gradio_client import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.responses import JSONResponse
from starlette.routing import Mount

import raner
from app import create_app
from webapp.fair_queue import JOIN, FairQueue, queue_target, waiting_in
from webapp.rest import Admission
from webapp.samples import sample_texts
from webapp.service import RequestError

from .conftest import ROOT, SHIPPED, free_port
from .test_runtime import check_offsets

MAX = 20000
JSON = {"content-type": "application/json"}

# Texts each door must answer well-formed, with every entity's offsets pointing at its text.
UNICODE_CASES = {
    "astral emoji": "😀张三在上海😀，李四在北京。",
    "astral CJK extension B": "𠀀𠀁王五在广州𠀂。",
    "combining marks": "e\u0301王\u0301五在北京\u0308。",
    "zero-width": "王\u200b五在\u200d北京\ufeff。",
    "control characters": "马云\x01\x02\x7f\x9f在杭州\x1b[31m。",
    "right-to-left": "\u202e马云在杭州\u202c，\u05e9\u05dc\u05d5\u05dd مرحبا 北京",
    "NUL bytes": "王五\x00在北京\x00",
    "CRLF": "华为在深圳。\r\n新华社报道。\r\n",
    "full-width": "１９９８年ＮＢＡ球星乔丹访问北京。",
    "half-width katakana": "ｱｲｳ半角ｶﾀｶﾅ和马云在杭州",
    "traditional": "馬雲在杭州阿里巴巴總部發表演講，臺灣新華社報導。",
}
WHITESPACE = ["", " ", "\u3000\u00a0 \t\r\n\x0b\x0c", "\n\n"]

# Random text: the project's sentences and names cut with arbitrary characters, so entities do get found.
FRAGMENTS = [*sample_texts(), "马云", "北京", "新华社", "张三", "。", "，", "\r\n", "\x00", "\u200b", "\u202e",
             "\u0301", "😀", "𠀀", "１２３", "ＮＢＡ", "臺灣", " "]
ANY_CHAR = st.characters(codec=None)  # every code point but surrogates
SLOW_FIXTURES = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
SURROGATE = st.characters(categories=["Cs"])


def texts(surrogates: bool) -> st.SearchStrategy[str]:
    piece = st.one_of(st.sampled_from(FRAGMENTS), st.text(ANY_CHAR, max_size=4),
                      *([st.text(SURROGATE, min_size=1, max_size=2)] if surrogates else []))
    return st.lists(piece, max_size=30).map("".join)


def has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def assert_entities(text: str, answer: dict) -> None:
    """A well-formed answer whose every entity is ``text[start:end]``; none for blank text."""
    assert set(answer) == {"entities"}
    entities = [raner.Entity(**e) for e in answer["entities"]]
    check_offsets(text, entities)
    if not text.strip():
        assert entities == []


def assert_json_error(r: httpx.Response, status: int, needle: str) -> None:
    """A 4xx in the API's one error shape, naming the problem, with no trace or server path in it."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and needle.lower() in body["error"].lower(), body
    assert "Traceback" not in r.text and str(ROOT) not in r.text


@pytest.fixture(scope="module")
def rec():
    """The runtime as the app runs it (with scores), without a cache."""
    return raner.load(cache_size=0, scores=True)


@pytest.fixture(scope="module")
def asgi():
    """The whole app in-process (REST + mounted Gradio), for fast request-level tests."""
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


# ---------------------------------------------------------------- runtime


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts(surrogates=True))
def test_runtime_offsets_hold_on_any_text(rec, text):
    assert_entities(text, {"entities": [e.to_dict() for e in rec.predict(text)]})


@pytest.mark.parametrize("text", [*UNICODE_CASES.values(), *WHITESPACE], ids=[*UNICODE_CASES, *map(repr, WHITESPACE)])
def test_runtime_unicode_cases(rec, text):
    assert_entities(text, {"entities": [e.to_dict() for e in rec.predict(text)]})


# ---------------------------------------------------------------- CLI


def run_cli(*args: str, stdin: str | bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "raner", *args], input=stdin, capture_output=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=120)


@pytest.mark.slow
def test_cli_blank_and_odd_lines():
    lines = ["", "   ", "\u3000", *(t.replace("\r\n", "，") for t in UNICODE_CASES.values())]
    out = run_cli(stdin=("\n".join(lines) + "\n").encode("utf-8"))
    assert out.returncode == 0 and b"Traceback" not in out.stderr, out.stderr
    answers = [json.loads(line) for line in out.stdout.decode("utf-8").split("\n") if line]
    assert len(answers) == len(lines)
    for text, answer in zip(lines, answers):
        assert_entities(text, answer)
    assert json.loads(run_cli("").stdout) == {"entities": []}


def test_cli_survives_invalid_utf8_on_stdin():
    out = run_cli(stdin=b"\xff\xfe\n\xe7\x8e\x8b\xe4\xba\x94\n", env={"PYTHONIOENCODING": "utf-8:strict"})
    assert out.returncode in (0, 2) and b"Traceback" not in out.stderr


def test_cli_output_is_valid_utf8_json_for_undecodable_arguments():
    out = run_cli(os.fsdecode(b"\xe7\x8e\x8b\xff\xe4\xba\x94\xe5\x9c\xa8\xe5\x8c\x97\xe4\xba\xac"))
    assert out.returncode in (0, 2) and b"Traceback" not in out.stderr
    if out.returncode == 0:
        json.loads(out.stdout.decode("utf-8"))


def test_cli_offsets_count_one_character_an_undecodable_byte():
    """Two bad bytes before the text read as two U+FFFD: offsets point into that text (they were shifted by 4)."""
    out = run_cli(os.fsdecode(b"\xff\xfe" + "马云在杭州阿里巴巴总部发表演讲".encode()))
    assert out.returncode == 0, out.stderr
    shown = "\ufffd\ufffd马云在杭州阿里巴巴总部发表演讲"
    entities = json.loads(out.stdout.decode("utf-8"))["entities"]
    assert entities and all(shown[e["start"] : e["end"]] == e["text"] for e in entities)
    assert any(e["text"] == "杭州" and e["start"] == 5 for e in entities)


# ---------------------------------------------------------------- REST, in-process


def deep_json(depth: int) -> bytes:
    return b'{"text": ' + b"[" * depth + b"]" * depth + b"}"


def escaped(text: str) -> bytes:
    """A JSON body with every non-ASCII character escaped (as Python's json.dumps and requests send it)."""
    return json.dumps({"text": text}).encode("ascii")


def chunks(total: int):
    yield b'{"text": "'
    for _ in range(total // 10000):
        yield b"a" * 10000
    yield b'"}'


BAD_REQUESTS = [
    ("invalid UTF-8", {"content": b'{"text": "\xff\xfe"}', "headers": JSON}, 400, "UTF-8"),
    ("nested 30,000 deep", {"content": deep_json(30000), "headers": JSON}, 400, "nested"),
    ("lone surrogate", {"content": b'{"text": "\\ud800"}', "headers": JSON}, 422, "surrogate"),
    ("surrogate inside a name", {"content": b'{"text": "\\u738b\\udc00\\u4e94\\u5728\\u5317\\u4eac"}',
                                 "headers": JSON}, 422, "index 1"),
    ("null body", {"content": b"null", "headers": JSON}, 422, "JSON object"),
    ("array body", {"json": ["马云"]}, 422, "JSON object"),
    ("text null", {"json": {"text": None}}, 422, "text"),
    ("text list", {"json": {"text": ["马云"]}}, 422, "text"),
    ("text as a file reference", {"json": {"text": {"path": "/etc/passwd"}}}, 422, "text"),
    ("text NaN", {"content": b'{"text": NaN}', "headers": JSON}, 422, "text"),
    ("variant number", {"json": {"text": "x", "variant": 3}}, 422, "variant"),
    ("variant path", {"json": {"text": "x", "variant": "../msra-base/model.fp32.onnx"}}, 422, "unknown variant"),
    ("variant absolute path", {"json": {"text": "x", "variant": "/etc/passwd"}}, 422, "unknown variant"),
    ("form body", {"data": {"text": "马云"}}, 422, "Content-Type"),
    ("no content type", {"content": b'{"text": "x"}'}, 422, "Content-Type"),
    ("trailing garbage", {"content": b'{"text": "x"} and more', "headers": JSON}, 422, "not valid JSON"),
    ("malformed Content-Length", {"content": b'{"text": "x"}', "headers": {**JSON, "content-length": "12abc"}}, 400,
     "Content-Length"),
    ("huge Content-Length", {"content": b'{"text": "x"}', "headers": {**JSON, "content-length": "999999999"}}, 413,
     "20000"),
    ("chunked body over the limit", {"content": chunks(300000), "headers": JSON}, 413, "20000"),
    ("20,001 escaped astral characters", {"content": escaped("😀" * (MAX + 1)), "headers": JSON}, 413, "20000"),
]


@pytest.mark.parametrize("kwargs,status,needle", [b[1:] for b in BAD_REQUESTS], ids=[b[0] for b in BAD_REQUESTS])
def test_rest_bad_request_is_a_clear_json_4xx(asgi, kwargs, status, needle):
    assert_json_error(asgi.post("/api/ner", **kwargs), status, needle)


@pytest.mark.parametrize("method,path,status,needle", [
    ("GET", "/api/ner", 405, "POST"), ("DELETE", "/api/health", 405, "GET, HEAD"), ("QUERY", "/api/ner", 405, "POST"),
    ("GET", "/api/nope", 404, "no such API route"), ("POST", "/api/ner/../../etc/passwd", 404, "not found"),
])
def test_rest_unknown_routes_and_methods(asgi, method, path, status, needle):
    r = asgi.request(method, path)
    if r.request.url.path.startswith("/api/"):
        assert_json_error(r, status, needle)
    else:  # the client resolved the dots: the UI's own 404, not the file
        assert r.status_code == 404 and "root:" not in r.text
    if status == 405:
        assert r.headers["allow"] == needle


@pytest.mark.parametrize("body", [
    {"text": "字" * MAX}, {"text": "马云", "variant": ""}, {"text": "马云", "variant": None},
    {"text": "马云", "variant": "fp32"},
], ids=["exactly max_chars", "variant empty", "variant null", "variant fp32"])
@pytest.mark.slow
def test_rest_accepts_edge_requests(asgi, body):
    r = asgi.post("/api/ner", json=body)
    assert r.status_code == 200, r.text
    assert_entities(body["text"], r.json())


@pytest.mark.slow
def test_rest_accepts_max_chars_sent_as_escapes(asgi):
    """json.dumps/requests escape every non-ASCII character: 20,000 of them must still fit the body limit."""
    text = "😀" * MAX
    r = asgi.post("/api/ner", content=escaped(text), headers=JSON)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("text", [*UNICODE_CASES.values(), *WHITESPACE], ids=[*UNICODE_CASES, *map(repr, WHITESPACE)])
def test_rest_unicode_cases(asgi, text):
    r = asgi.post("/api/ner", json={"text": text})
    assert r.status_code == 200, r.text
    assert_entities(text, r.json())


@pytest.mark.slow
def test_rest_long_text_is_processed_whole(asgi, rec):
    sentences = [t if t.endswith("。") else t + "。" for t in sample_texts()]
    text = ("".join(sentences) * (MAX // sum(map(len, sentences)) + 1))[:MAX]
    r = asgi.post("/api/ner", json={"text": text})
    assert r.status_code == 200
    answer = r.json()
    assert_entities(text, answer)
    assert answer == {"entities": [e.to_dict() for e in rec.predict(text)]}
    assert max(e["end"] for e in answer["entities"]) > MAX - 300


@settings(max_examples=150, deadline=None, suppress_health_check=SLOW_FIXTURES)
@given(text=texts(surrogates=True))
def test_rest_offsets_hold_on_any_text(asgi, text):
    body = escaped(text)
    text = json.loads(body)["text"]  # what the server reads: an escaped high+low surrogate pair is one character
    r = asgi.post("/api/ner", content=body, headers=JSON)
    if has_surrogate(text):
        assert_json_error(r, 422, "surrogate")
    else:
        assert r.status_code == 200, r.text
        assert_entities(text, r.json())


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
BODIES = st.one_of(JSON_VALUES, st.fixed_dictionaries({"text": JSON_VALUES}, optional={"variant": JSON_VALUES}))


@settings(max_examples=150, deadline=None, suppress_health_check=SLOW_FIXTURES)
@given(body=BODIES)
def test_rest_any_json_body_is_answered_not_crashed(asgi, body):
    r = asgi.post("/api/ner", content=json.dumps(body), headers=JSON)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert_entities(body["text"], r.json())
    else:
        assert isinstance(r.json()["error"], str)


def test_health_reports_cache_and_queue(asgi):
    h = asgi.get("/api/health").json()
    assert set(h["cache"]) == {"hits", "misses", "hit_rate", "size", "max_size"}
    assert (h["queue"]["workers"], h["queue"]["long_workers"], h["queue"]["max_waiting"]) == (2, 1, 64)
    assert h["queue"]["running"] == h["queue"]["waiting"] == 0


def test_admission_refuses_past_the_queue_with_503():
    async def scenario() -> tuple[int, str]:
        gate = Admission(workers=1, max_waiting=1)
        release = asyncio.Event()

        async def hold() -> None:
            async with gate.slot():
                await release.wait()

        tasks = [asyncio.create_task(hold()), asyncio.create_task(hold())]
        await asyncio.sleep(0.05)
        assert (gate.running, gate.waiting) == (1, 1)
        try:
            async with gate.slot():
                pass
        except RequestError as e:
            status, message = e.status, str(e)
        release.set()
        await asyncio.gather(*tasks)
        assert (gate.running, gate.waiting, gate.rejected) == (0, 0, 1)
        return status, message

    status, message = asyncio.run(scenario())
    assert status == 503 and "retry" in message


def test_long_texts_leave_a_worker_for_short_ones():
    async def scenario() -> None:
        gate = Admission(workers=2, max_waiting=8, long_workers=1)
        release = asyncio.Event()

        async def hold(long: bool) -> None:
            async with gate.slot(long=long):
                await release.wait()

        tasks = [asyncio.create_task(hold(True)), asyncio.create_task(hold(True))]
        await asyncio.sleep(0.05)
        assert (gate.running, gate.waiting) == (1, 1)  # the second long text waits for the long lane
        tasks.append(asyncio.create_task(hold(False)))
        await asyncio.sleep(0.05)
        assert (gate.running, gate.waiting) == (2, 1)  # a short text still gets the other worker at once
        release.set()
        await asyncio.gather(*tasks)
        assert (gate.running, gate.waiting, gate.rejected) == (0, 0, 0)

    asyncio.run(scenario())


def test_app_exposes_no_debug_share_or_extra_paths(asgi):
    app = asgi.app
    gradio = next(r.app for r in app.routes if isinstance(r, Mount) and r.path == "")
    blocks = gradio.get_blocks()
    assert not app.debug and not gradio.debug
    assert not blocks.share and blocks.allowed_paths == []


# ---------------------------------------------------------------- the running app (python app.py)

FILE_PROBES = ["/gradio_api/file=/etc/passwd", "/file=/etc/passwd", "/gradio_api/file=/proc/self/environ",
               "/gradio_api/file=..%2F..%2F..%2F..%2Fetc%2Fpasswd",
               "/gradio_api/file=" + str(SHIPPED / "manifest.json"),
               "/gradio_api/file=app.py", "/static/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2F..%2F..%2Fetc%2Fpasswd",
               "/gradio_api/file=" + urllib.parse.quote(str(ROOT / "webapp" / "service.py"))]


@pytest.mark.parametrize("path", FILE_PROBES)
def test_running_app_serves_no_files_from_disk(server, path):
    r = httpx.get(server + path, trust_env=False)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert "root:" not in r.text and "PATH=" not in r.text and '"variants"' not in r.text and "import " not in r.text


def test_running_app_answers_lone_surrogates_with_422(server):
    r = httpx.post(server + "/api/ner", content=b'{"text": "\\u738b\\ud800\\u4e94"}', headers=JSON, trust_env=False)
    assert_json_error(r, 422, "surrogate")
    r = httpx.post(server + "/api/ner", content=chunks(300000), headers=JSON, trust_env=False)
    assert_json_error(r, 413, "20000")


@pytest.fixture(scope="module")
def gradio(server):
    return Client(server + "/", verbose=False)


@pytest.mark.parametrize("text", [*WHITESPACE, UNICODE_CASES["astral emoji"], UNICODE_CASES["NUL bytes"]])
def test_gradio_ner_blank_and_unicode(gradio, text):
    assert_entities(text, gradio.predict(text, api_name="/ner"))


@pytest.mark.parametrize("args,needle", [((5,), "must be a string"), (("字" * (MAX + 1),), "20000")])
def test_gradio_ner_bad_input_is_a_clear_error(gradio, args, needle):
    with pytest.raises(Exception, match=needle):
        gradio.predict(*args, api_name="/ner")


def test_gradio_ner_lone_surrogate_is_a_clear_error(server):
    """gradio_client cannot even encode a lone surrogate, so send the queue call by hand."""
    r = httpx.post(server + "/gradio_api/call/ner", content=b'{"data": ["\\u738b\\ud800", "", ""]}', headers=JSON,
                   trust_env=False)
    event = r.json()["event_id"]
    stream = httpx.get(f"{server}/gradio_api/call/ner/{event}", timeout=60, trust_env=False).text
    assert "event: error" in stream and "unpaired surrogate" in stream


def raw_post(server: str, text: str) -> socket.socket:
    """Start a POST /api/ner on a bare socket, so the test can hang up mid-request."""
    url = urllib.parse.urlsplit(server)
    body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
    sock = socket.create_connection((url.hostname, url.port))
    sock.sendall(b"POST /api/ner HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    return sock


def test_client_disconnect_does_not_disturb_others(server, rec):
    maker = [t if t.endswith("。") else t + "。" for t in sample_texts()]
    texts = [("".join(maker[i:] + maker[:i]) * 40)[:MAX] for i in range(4)]
    expected = [{"entities": [e.to_dict() for e in rec.predict(t)]} for t in texts[1:]]
    leaver = raw_post(server, texts[0])
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(httpx.post, server + "/api/ner", json={"text": t}, timeout=120, trust_env=False)
                   for t in texts[1:]]
        time.sleep(0.3)
        leaver.close()
        answers = [f.result() for f in futures]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json() for a in answers] == expected
    deadline = time.time() + 30
    while (queue := httpx.get(server + "/api/health", trust_env=False).json()["queue"])["running"] \
            and time.time() < deadline:
        time.sleep(0.2)
    assert queue["running"] == queue["waiting"] == 0
    assert httpx.post(server + "/api/ner", json={"text": "马云在杭州"}, trust_env=False).status_code == 200


# ---------------------------------------------------------------- faults at start


def broken_copy(tmp_path: Path, name: str, breaker) -> Path:
    """The shipped model with every file linked, except what ``breaker`` then replaces or removes."""
    d = tmp_path / name
    d.mkdir()
    for f in SHIPPED.iterdir():
        if f.is_file() and f.suffix != ".pt":
            (d / f.name).symlink_to(f)
    breaker(d)
    return d


def replace(name: str, data: bytes):
    def breaker(d: Path) -> None:
        (d / name).unlink()
        (d / name).write_bytes(data)
    return breaker


_SHIPPED_MANIFEST = raner.manifest.read_manifest(SHIPPED)
DEFAULT_VOCAB = _SHIPPED_MANIFEST.variant_inputs(_SHIPPED_MANIFEST.default_variant)["vocab"]  # what raner.load reads


def ghost_variant(d: Path) -> None:
    raw = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    raw["variants"]["ghost"] = {"file": "ghost.onnx"}
    (d / "manifest.json").unlink()
    (d / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")


FAULTS = {
    "missing fp32 model": (lambda d: (d / "model.fp32.onnx").unlink(), "model.fp32.onnx"),
    "corrupt student model": (replace("model.student.onnx", b"not an onnx file"), "model.student.onnx"),
    "manifest names a missing variant file": (ghost_variant, "ghost.onnx"),
    "undecodable vocabulary": (replace("vocab.txt", b"\xff\xfe\xfa\n"), "vocab.txt"),
}


@pytest.mark.slow
def test_app_refuses_to_start_on_a_broken_model(tmp_path):
    """Each broken copy: exit code 2 and one line on stderr naming the file and the rebuild command, no traceback."""
    procs = {}
    for name, (breaker, _) in FAULTS.items():
        model = broken_copy(tmp_path, name.replace(" ", "-"), breaker)
        env = {**os.environ, "RANER_MODEL": str(model), "GRADIO_SERVER_NAME": "127.0.0.1",
               "GRADIO_SERVER_PORT": str(free_port()), "GRADIO_ANALYTICS_ENABLED": "False"}
        procs[name] = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        lines = err.strip().splitlines()
        assert proc.returncode == 2, (name, err)
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, err)
        assert FAULTS[name][1] in err and "make model" in err and "Traceback" not in err, (name, err)


@pytest.mark.parametrize("name,breaker", [
    ("crf.npz", replace("crf.npz", b"not numpy")),
    (DEFAULT_VOCAB, replace(DEFAULT_VOCAB, b"\xff\xfe\xfa\n")),
])
def test_runtime_fault_names_the_rebuild_command(tmp_path, name, breaker):
    raner.recognizer.clear_loaded()
    with pytest.raises(raner.ModelError, match="make model"):
        raner.load(broken_copy(tmp_path, "m", breaker))
    raner.recognizer.clear_loaded()


@pytest.mark.parametrize("name,breaker", [
    ("crf.npz", replace("crf.npz", b"not numpy")),
    (DEFAULT_VOCAB, replace(DEFAULT_VOCAB, b"\xff\xfe\xfa\n")),
])
def test_runtime_fault_names_the_unreadable_file(tmp_path, name, breaker):
    raner.recognizer.clear_loaded()
    try:
        with pytest.raises(raner.ModelError, match=name.replace(".", r"\.")):
            raner.load(broken_copy(tmp_path, "m", breaker))
    finally:
        raner.recognizer.clear_loaded()


def test_one_visitor_cannot_fill_the_rest_queue():
    async def scenario() -> None:
        gate = Admission(workers=1, max_waiting=64, per_visitor=2)
        release = asyncio.Event()

        async def hold(visitor: str) -> None:
            async with gate.slot(visitor=visitor):
                await release.wait()

        tasks = [asyncio.create_task(hold("a")) for _ in range(3)]  # one runs, two wait
        await asyncio.sleep(0.05)
        assert (gate.running, gate.waiting) == (1, 2)
        with pytest.raises(RequestError) as refused:
            async with gate.slot(visitor="a"):
                pass
        assert refused.value.status == 429 and "waiting" in str(refused.value)
        tasks.append(asyncio.create_task(hold("b")))  # another visitor still gets a place in the queue
        await asyncio.sleep(0.05)
        assert gate.waiting == 3
        release.set()
        await asyncio.gather(*tasks)
        assert (gate.running, gate.waiting, gate.rejected) == (0, 0, 1)

    asyncio.run(scenario())


def test_one_visitor_cannot_fill_gradios_queue():
    """Joins past a visitor's bound get 429 before Gradio reads them: events already waiting in the queue and joins
    still being answered both count, so a burst of simultaneous joins is bounded too."""

    async def scenario() -> None:
        release, reached = asyncio.Event(), []

        async def gradio(scope, receive, send):  # stands in for Gradio: a join that takes a while to answer
            reached.append(scope["path"])
            await release.wait()
            await JSONResponse({"event_id": "x"})(scope, receive, send)

        queued = {"10.0.0.9": 3}
        app = FairQueue(gradio, lambda visitor: queued.get(visitor, 0), limit=4, hops=1)  # behind one proxy
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            def join(visitor: str):
                return client.post(JOIN, json={}, headers={"x-forwarded-for": visitor})

            first = asyncio.create_task(join("10.0.0.9"))  # 3 waiting + this one = the bound
            await asyncio.sleep(0.05)
            over = await join("10.0.0.9")
            assert over.status_code == 429 and over.headers["retry-after"] == "1" and "waiting" in over.json()["error"]
            other = asyncio.create_task(join("10.0.0.7"))
            await asyncio.sleep(0.05)
            assert len(reached) == 2  # the first join and the other visitor's went through
            release.set()
            assert (await first).status_code == 200 and (await other).status_code == 200
            assert (await client.get(JOIN)).status_code == 200  # only POSTs to the join are counted

    asyncio.run(scenario())


def test_every_route_into_gradios_queue_counts_for_the_visitor():
    """The simple API's calls join the same queue as the page: a visitor at its bound gets 429 on them too."""
    assert [queue_target(p) for p in (JOIN, JOIN + "/", "/gradio_api/call/ner", "/gradio_api/call/ner/",
                                      "/gradio_api/call/v2/ner", "//gradio_api//call/v2/benchmark/")] == [
        "", "", "ner", "ner", "ner", "benchmark"]
    assert {queue_target(p) for p in ("/gradio_api/call/ner/abc123", "/gradio_api/upload", "/api/ner",
                                      "/gradio_api/queue/data", "/gradio_api/call/")} == {None}

    async def scenario() -> None:
        async def gradio(scope, receive, send):
            await JSONResponse({"event_id": "x"})(scope, receive, send)

        app = FairQueue(gradio, lambda visitor: 1, limit=1)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            for path in ("/gradio_api/call/ner", "/gradio_api/call/v2/ner"):
                assert (await client.post(path, json={"data": ["x"]})).status_code == 429
            assert (await client.get("/gradio_api/call/ner/x")).status_code == 200  # reading a result is not a join

    asyncio.run(scenario())


def test_a_call_to_an_unknown_api_name_is_a_plain_404(asgi):
    """Gradio answered these with a 500 and logged a traceback on every request."""
    for path in ("/gradio_api/call/NER", "/gradio_api/call/v2/nope", "/gradio_api/call/ner%00"):
        r = asgi.post(path, json={"data": ["马云"]})
        assert r.status_code == 404 and "no API named" in r.json()["error"], (path, r.status_code, r.text[:200])
    assert asgi.post("/gradio_api/call/ner", json={"data": ["马云在杭州", "", ""]}).status_code == 200


def test_a_call_whose_arguments_cannot_be_read_is_a_400(asgi):
    """/call/v2/<name> takes the API's parameters by name; Gradio answered any other body with a 500 and a trace."""
    for body in ({"data": ["马云"]}, {"data": 5}, {}, {"text": "马云", "nope": 1}):
        r = asgi.post("/gradio_api/call/v2/ner", json=body)
        assert r.status_code == 400 and "cannot be read" in r.json()["error"], (body, r.status_code, r.text[:200])
    assert asgi.post("/gradio_api/call/v2/ner", json={"text": "马云在杭州"}).status_code == 200


def test_gradios_direct_routes_do_not_run_beside_the_queue(asgi):
    """/gradio_api/run/<name> and /gradio_api/api/<name> would run an event outside the queue's worker and visitor
    bounds: the app closes them (the queue's api_open=False)."""
    for path in ("/gradio_api/run/ner", "/gradio_api/api/ner", "/gradio_api/run/benchmark"):
        r = asgi.post(path, json={"data": ["马云在杭州阿里巴巴总部发表演讲", "", ""]})
        assert r.status_code == 404 and "queue" in r.text, (path, r.status_code, r.text[:200])


def test_the_queue_is_read_as_this_gradio_keeps_it():
    """waiting_in reads Gradio's private queue: a Gradio that keeps it otherwise must show up here, not as a bound
    that silently never counts."""
    import gradio as gr

    with gr.Blocks() as demo:
        gr.Button().click(lambda: None)
    demo.queue()
    assert waiting_in(demo)("10.0.0.1") == 0
    assert isinstance(demo._queue.event_queue_per_concurrency_id, dict)


def test_uploads_are_bounded_per_visitor_and_in_total(tmp_path):
    """Gradio keeps an upload until its cache clean-up and bounds only each request: a visitor gets a few uploads a
    window, and nobody gets one while the upload folder is full."""
    from webapp.uploads import UPLOAD, UploadBudget, folder_bytes

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_bytes(b"x" * 3000)
    (tmp_path / "y.txt").write_bytes(b"y" * 1000)
    assert folder_bytes(tmp_path) == 4000
    now = [0.0]

    async def gradio(scope, receive, send):
        await JSONResponse(["/tmp/gradio/upload"])(scope, receive, send)

    async def scenario() -> None:
        app = UploadBudget(gradio, used=lambda: folder_bytes(tmp_path), total_bytes=6000, upload_bytes=1500,
                           per_visitor=2, window=900, hops=1, clock=lambda: now[0])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            def upload(visitor: str, path: str = UPLOAD):
                return client.post(path, content=b"-", headers={"x-forwarded-for": visitor})

            assert [(await upload("10.0.0.1")).status_code for _ in range(3)] == [200, 200, 429]
            assert "at most 2 in 15 minutes" in (await upload("10.0.0.1")).json()["error"]
            assert (await upload("10.0.0.2", "//gradio_api/upload/")).status_code == 200
            now[0] = 901.0  # the window has passed
            assert (await upload("10.0.0.1")).status_code == 200
            (tmp_path / "z.txt").write_bytes(b"z" * 1000)  # 5000 bytes in use: one more upload would pass 6000
            full = await upload("10.0.0.3")
            assert full.status_code == 503 and "upload space is full" in full.json()["error"]
            assert (await client.post("/api/ner", content=b"-")).status_code == 200  # other routes pass untouched

    asyncio.run(scenario())


def test_a_visitor_is_who_the_trusted_proxy_saw_not_what_the_client_wrote():
    """Without a trusted proxy the header is ignored; with one, only the entry that proxy appended counts: a client
    writing a new X-Forwarded-For on every request stays one visitor (forged values had filled Gradio's queue)."""
    from starlette.requests import Request

    from webapp.limits import Limits, visitor_of

    def request(xff: str | None):
        headers = [(b"x-forwarded-for", xff.encode())] if xff is not None else []
        return Request({"type": "http", "headers": headers, "client": ("10.9.9.9", 5000)})

    assert visitor_of(request("1.2.3.4")) == "10.9.9.9"  # no proxy: the peer
    assert visitor_of(request("forged-1, 203.0.113.7"), hops=1) == "203.0.113.7"
    assert visitor_of(request("forged-2, 203.0.113.7"), hops=1) == "203.0.113.7"
    assert visitor_of(request("a, 203.0.113.7, 10.0.0.2"), hops=2) == "203.0.113.7"
    assert visitor_of(request(None), hops=1) == visitor_of(request(" , "), hops=1) == "10.9.9.9"
    assert visitor_of(None) == "local"
    assert Limits.from_env({}).proxy_hops == 0 and Limits.from_env({"SPACE_ID": "u/raner"}).proxy_hops == 1
    assert Limits.from_env({"SPACE_ID": "u/raner", "RANER_PROXY_HOPS": "0"}).proxy_hops == 0


def test_uploads_still_arriving_count_toward_the_total(tmp_path):
    """Simultaneous uploads were each checked against the folder alone, so six 4 MB uploads passed a 10 MB bound."""
    from webapp.uploads import UPLOAD, UploadBudget

    async def scenario() -> None:
        release = asyncio.Event()

        async def gradio(scope, receive, send):  # an upload that takes a while to arrive
            await release.wait()
            await JSONResponse(["/tmp/gradio/upload"])(scope, receive, send)

        app = UploadBudget(gradio, used=lambda: 0, total_bytes=10_000, upload_bytes=4_000, per_visitor=100, window=900)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            slow = [asyncio.create_task(client.post(UPLOAD, content=b"-")) for _ in range(2)]
            await asyncio.sleep(0.05)
            third = await client.post(UPLOAD, content=b"-")
            assert third.status_code == 503
            release.set()
            assert [(await t).status_code for t in slow] == [200, 200]
            assert (await client.post(UPLOAD, content=b"-")).status_code == 200  # done: room again

    asyncio.run(scenario())


def test_routes_outside_the_apis_take_a_small_body_at_most(asgi):
    r = asgi.post("/login", content=b"x" * 200_000, headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
