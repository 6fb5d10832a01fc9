"""The running app: Gradio named API through gradio_client, and the REST API."""

import re

import httpx
import pytest
from gradio_client import Client

import raner

SEED = "马云在杭州阿里巴巴总部发表演讲"


@pytest.fixture(scope="module")
def client(server):
    return Client(server + "/", verbose=False)


def expected(text, variant=None):
    return {"entities": [e.to_dict() for e in raner.load(variant=variant, scores=True).predict(text)]}


def test_named_api_ner_matches_the_runtime(client):
    assert client.predict(SEED, api_name="/ner") == expected(SEED)


def test_named_api_ner_with_variant(client):
    assert client.predict(SEED, "fp32", api_name="/ner") == expected(SEED, "fp32")


def test_named_api_rejects_unknown_variant(client):
    with pytest.raises(Exception, match="unknown variant"):
        client.predict(SEED, "../../etc/passwd", api_name="/ner")


def test_named_api_benchmark(client):
    table, *_, raw = client.predict("马云在杭州。", 3, api_name="/benchmark")
    default = raner.load().variant
    variants = [row[0].replace("★ ", "").replace(" (default)", "") for row in table["value"]["data"]]
    assert set(variants) == set(raner.load().variants) and f"★ {default} (default)" in [
        r[0] for r in table["value"]["data"]
    ]
    assert raw["repeats"] == 3 and all(r["ms a sentence (median)"] > 0 for r in raw["results"])


def test_detect_says_when_an_answer_came_from_the_cache():
    from webapp.service import NerService
    from webapp.ui import stats_markdown

    service = NerService()
    first, again = service.ner(SEED), service.ner(SEED)
    assert not first.cached and again.cached
    assert "ms</strong> on this server" in stats_markdown(first) and "result cache" in stats_markdown(again)


def test_scores_are_cut_not_rounded_up():
    from webapp.ui import shown_score

    assert shown_score(0.99996) == "0.9999" and shown_score(0.5) == "0.5000" and shown_score(None) == ""


def test_docs_page_needs_no_network(server):
    r = httpx.get(server + "/docs")
    assert r.status_code == 200 and "POST /api/ner" in r.text
    assert "http://" not in r.text and "https://" not in r.text  # Swagger UI would load from a CDN


def test_health_get_and_head_have_their_own_operation_ids(server):
    ops = [op["operationId"] for op in httpx.get(server + "/openapi.json").json()["paths"]["/api/health"].values()]
    assert sorted(ops) == ["health", "health_head"]


def test_rest_user_dict_types_are_the_models_own(server):
    schema = httpx.get(server + "/openapi.json").json()["components"]["schemas"]["NerRequest"]["properties"]
    obj = next(o for o in schema["user_dict"]["anyOf"] if o.get("type") == "object")
    assert sorted(obj["additionalProperties"]["enum"]) == sorted(raner.load().types)
    lines = next(o for o in schema["user_dict"]["anyOf"] if o.get("type") == "string")
    assert re.fullmatch(lines["pattern"], "字节跳动 ORG\n梁汝波 PER")
    assert not re.fullmatch(lines["pattern"], "字节跳动 XYZ")


def test_examples_do_not_start_alike():
    from webapp.samples import example_texts

    firsts = [t[:8] for t in example_texts()]
    assert len(set(firsts)) == len(firsts)


def test_rest_ner_contract(server):
    r = httpx.post(server + "/api/ner", json={"text": SEED})
    assert r.status_code == 200
    assert r.json() == expected(SEED)
    r = httpx.post(server + "/api/ner", json={"text": SEED, "variant": "fp32"})
    assert r.json() == expected(SEED, "fp32")


def test_rest_health(server):
    h = httpx.get(server + "/api/health").json()
    assert h["status"] == "ok" and h["model"] == raner.DEFAULT_MODEL.name
    assert h["variants"] == list(raner.load().variants) and h["version"] == raner.__version__
    head = httpx.head(server + "/api/health")  # load balancers and uptime probes use HEAD
    assert head.status_code == 200 and head.content == b""


def test_old_bulk_jobs_are_removed_and_fresh_ones_kept(tmp_path):
    import os
    import time

    from webapp.ui import remove_old_outputs

    old, fresh, other = tmp_path / "job-old", tmp_path / "job-new", tmp_path / "someone-else"
    for d in (old, fresh, other):
        d.mkdir()
        (d / "x.jsonl").write_text("{}", encoding="utf-8")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    os.utime(other, (hours_ago, hours_ago))
    assert remove_old_outputs(tmp_path, 3600) == 1
    assert not old.exists() and fresh.exists() and other.exists()


@pytest.mark.parametrize(
    "kwargs,status,needle",
    [
        ({"content": b""}, 422, "body"),
        ({"json": {}}, 422, "text"),
        ({"json": {"text": 5}}, 422, "string"),
        ({"json": {"text": "x", "variant": "nope"}}, 422, "unknown variant"),
        ({"json": {"text": "x", "extra": 1}}, 422, "extra"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "JSON"),
        ({"content": "马云".encode(), "headers": {"content-type": "text/plain"}}, 422, "invalid"),
        ({"json": {"text": "字" * 20001}}, 413, "20000"),
    ],
)
def test_rest_bad_requests_get_json_4xx(server, kwargs, status, needle):
    r = httpx.post(server + "/api/ner", **kwargs)
    assert r.status_code == status, r.text
    assert needle.lower() in r.json()["error"].lower()


def test_rest_empty_text_is_empty_result(server):
    assert httpx.post(server + "/api/ner", json={"text": "  "}).json() == {"entities": []}


def test_openapi_describes_the_rest_routes(server):
    schema = httpx.get(server + "/openapi.json").json()
    assert "post" in schema["paths"]["/api/ner"] and "get" in schema["paths"]["/api/health"]


def test_user_dictionary_through_rest_and_gradio(server, client):
    text = "字节跳动首席执行官梁汝波在北京出席了年度员工大会。"
    r = httpx.post(server + "/api/ner", json={"text": text, "user_dict": {"字节跳动": "ORG", "梁汝波": "PER"}})
    assert r.status_code == 200
    found = {(e["text"], e["type"]) for e in r.json()["entities"]}
    assert {("字节跳动", "ORG"), ("梁汝波", "PER")} <= found
    assert all(text[e["start"] : e["end"]] == e["text"] for e in r.json()["entities"])
    bad = httpx.post(server + "/api/ner", json={"text": text, "user_dict": {"字节跳动": "COMPANY"}})
    assert bad.status_code == 422 and "user_dict" in bad.json()["error"]
    out = client.predict(text, "", "字节跳动 ORG", api_name="/ner")
    assert ("字节跳动", "ORG") in {(e["text"], e["type"]) for e in out["entities"]}
    # REST takes the same "词语 TYPE" lines as the UI and gradio_client, and agrees with its object form
    lines = httpx.post(server + "/api/ner", json={"text": text, "user_dict": "# ours\n字节跳动 ORG\n梁汝波\tPER\n"})
    assert lines.status_code == 200 and lines.json() == r.json()
    windows = httpx.post(server + "/api/ner", json={"text": text, "user_dict": "字节跳动 ORG\r\n梁汝波 PER\r\n"})
    assert windows.status_code == 200 and windows.json() == r.json()
    # "#x PER" could be read as a comment or as a word: the check must not try both ways for every line
    for wrong in ("字节跳动", "字节跳动 COMPANY", "a PER\rb LOC", "x PER\n" * 1001, "#x PER\n" * 60 + "bad"):
        bad = httpx.post(server + "/api/ner", json={"text": text, "user_dict": wrong})
        assert bad.status_code == 422 and "'词语 TYPE'" in bad.json()["error"], wrong
