"""Load, soak and burst runs against the raner-lite app on loopback: throughput, latency, errors, server memory.

python scripts/load.py            # app.py on a free loopback port: 32 clients 30 s, a 20,000-request soak, a burst
python scripts/load.py --quick    # a few seconds of each part, a burst of 2,000-character texts (tests/test_load.py)
python scripts/load.py --parts load --duration 10
python scripts/load.py --url http://127.0.0.1:7860 --pid 1234   # an app that is already running (memory needs --pid)
python scripts/load.py --parts memory,hostile,heavy
    # RSS over 5,000 distinct texts; every attack of docs/RELIABILITY.md;
                                                      # 40 REST clients while a Bulk job and a benchmark run

Only loopback targets (127.0.0.0/8, ::1, localhost) are accepted. Exit code 0 when every check passed, 1 when one
failed, 2 for a bad argument or a server that would not start.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import io
import ipaddress
import json
import math
import os
import random
import socket
import subprocess
import sys
import time
import urllib.parse
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python scripts/load.py` puts scripts/ first on the path, not the project
    sys.path.insert(0, str(ROOT))

import raner  # noqa: E402
from raner.benchmark import machine_info  # noqa: E402
from webapp.limits import Limits  # noqa: E402
from webapp.samples import sample_texts  # noqa: E402

LIMITS = Limits()  # the defaults app.py serves with: the probes ask for the most a visitor may

RSS_GROWTH_LIMIT_MB = 30.0
KINDS = ("short", "typical", "max")
PARTS = ("load", "soak", "burst", "hostile", "heavy", "memory")


class RefusedTarget(ValueError):
    """A URL that is not on this machine's loopback interface."""


def check_loopback(url: str) -> str:
    """The URL without a trailing slash if its host is a loopback address; RefusedTarget otherwise."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget(f"not an http(s) URL: {url!r}")
    host = parts.hostname
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        if host != "localhost":
            raise RefusedTarget(
                f"refusing {host!r}: only loopback addresses (127.0.0.1, ::1, localhost) are allowed"
            ) from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in socket.getaddrinfo(host, parts.port or 80)]
    if not addresses or not all(a.is_loopback for a in addresses):
        raise RefusedTarget(f"refusing {host!r}: only loopback addresses (127.0.0.1, ::1, localhost) are allowed")
    return url.rstrip("/")


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process in MB, from /proc/<pid>/status (None when unknown)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) of values, None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def latency_summary(ms: list[float]) -> dict:
    """p50/p95/p99/max of latencies in milliseconds, rounded for the report."""
    out = {f"p{q}": percentile(ms, q) for q in (50, 95, 99)}
    out["max"] = max(ms) if ms else None
    return {k: (round(v, 1) if v is not None else None) for k, v in out.items()}


class TextMaker:
    """Request texts built from the project's sample sentences: short, typical, and maximum-size (unique)."""

    def __init__(self, max_chars: int, seed: int = 7):
        self.sentences = [s if s.endswith(("。", "！", "？")) else s + "。" for s in sample_texts()]
        self.max_chars, self.rng = max_chars, random.Random(seed)

    def short(self) -> str:
        """One sample sentence (a small set, so these mostly hit the result cache)."""
        return self.rng.choice(self.sentences)

    def typical(self) -> str:
        """Three to eight sentences in random order: a news paragraph of about 100-300 characters."""
        return "".join(self.rng.sample(self.sentences, self.rng.randint(3, 8)))

    def maximum(self) -> str:
        """Exactly max_chars characters in a random sentence order (never cached)."""
        parts, size = [], 0
        while size < self.max_chars:
            parts.append(self.rng.choice(self.sentences))
            size += len(parts[-1])
        return "".join(parts)[: self.max_chars]

    def soak(self, pool: int) -> str:
        """One of ``pool`` distinct paragraphs, popular ones far more often, so the LRU cache both hits and evicts."""
        k = int(pool * self.rng.random() ** 3)
        r = random.Random(k)
        return "".join(r.sample(self.sentences, 1 + k % 4)) + f"（第{k}条）"

    def of_kind(self, kind: str) -> str:
        return {"short": self.short, "typical": self.typical, "max": self.maximum}[kind]()


@dataclass
class Tally:
    """Outcomes of a series of requests: latencies by kind, statuses, failures."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=dict)
    ok: int = 0
    rejected: int = 0  # 503 with Retry-After: the documented answer to an overfull queue
    refused_ms: list[float] = field(default_factory=list)

    def fail(self, why: str) -> None:
        self.errors[why] = self.errors.get(why, 0) + 1

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    @property
    def count(self) -> int:
        return self.ok + self.rejected + self.failed

    def summary(self, seconds: float) -> dict:
        every = [x for v in self.latencies.values() for x in v]
        return {
            "requests": self.count,
            "ok": self.ok,
            "rejected_503": self.rejected,
            "failed": self.failed,
            "errors": dict(self.errors),
            "seconds": round(seconds, 1),
            "requests_per_s": round(self.count / seconds, 1) if seconds else None,
            "latency_ms": latency_summary(every),
            "by_kind": {k: {"requests": len(v), **latency_summary(v)} for k, v in self.latencies.items() if v},
        }


def visitor(i: int) -> str:
    """The address caller ``i`` sends as X-Forwarded-For: a load of many clients is many visitors, each within the
    app's per-visitor bound (a test of that bound sends one address)."""
    return f"10.77.{i // 250}.{i % 250 + 1}"


async def send(client: httpx.AsyncClient, text: str, kind: str, tally: Tally, allow_503: bool = False,
               who: str | None = None) -> None:
    """POST one text as visitor ``who``; record its latency, and check the answer: 200 with offsets that point at
    the entity text."""
    t0 = time.perf_counter()
    try:
        r = await client.post("/api/ner", json={"text": text}, headers={"x-forwarded-for": who} if who else None)
    except httpx.HTTPError as e:
        tally.fail(type(e).__name__)
        return
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code == 503 and allow_503 and r.headers.get("retry-after") and _is_error(r):
        tally.rejected += 1
        tally.refused_ms.append(ms)
        return
    if r.status_code != 200:
        tally.fail(
            f"HTTP {r.status_code}"
            + (" without Retry-After" if r.status_code == 503 and not r.headers.get("retry-after") else "")
        )
        return
    try:
        entities = r.json()["entities"]
        if any(text[e["start"] : e["end"]] != e["text"] for e in entities):
            tally.fail("entity offsets do not match the text")
            return
    except (ValueError, KeyError, TypeError):
        tally.fail("malformed JSON answer")
        return
    tally.ok += 1
    tally.latencies[kind].append(ms)


def _is_error(r: httpx.Response) -> bool:
    """Whether an answer is the API's JSON error shape."""
    try:
        return isinstance(r.json().get("error"), str)
    except (ValueError, AttributeError):
        return False


def new_client(url: str, connections: int, timeout: float = 120.0) -> httpx.AsyncClient:
    """An HTTP client for the app only: no proxies from the environment, enough connections for every worker."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits, trust_env=False)


async def health(client: httpx.AsyncClient) -> dict:
    r = await client.get("/api/health")
    r.raise_for_status()
    return r.json()


async def run_load(url: str, clients: int, seconds: float, mix: dict[str, float], seed: int) -> dict:
    """``clients`` concurrent callers, each sending the next request as soon as its last one is answered."""
    info = await _health_of(url)
    maker = TextMaker(info["max_chars"], seed)
    kinds, weights = zip(*mix.items())
    tally = Tally()
    deadline = time.perf_counter() + seconds

    async def caller(client: httpx.AsyncClient, i: int) -> None:
        while time.perf_counter() < deadline:
            kind = maker.rng.choices(kinds, weights)[0]
            await send(client, maker.of_kind(kind), kind, tally, who=visitor(i))

    t0 = time.perf_counter()
    async with new_client(url, clients) as client:
        await asyncio.gather(*(caller(client, i) for i in range(clients)))
    return {"clients": clients, "mix": mix, **tally.summary(time.perf_counter() - t0)}


async def run_soak(url: str, total: int, clients: int, pid: int | None, pool: int, max_every: int, seed: int) -> dict:
    """``total`` requests from ``clients`` callers; server memory after a warm-up tenth and at the end, cache hit
    rate."""
    info = await _health_of(url)
    maker = TextMaker(info["max_chars"], seed)
    tally = Tally()
    warmup = max(1, total // 10)
    issued = 0
    marks: dict[str, float | None] = {}
    samples: list[float] = []

    async def caller(client: httpx.AsyncClient, i: int) -> None:
        nonlocal issued
        while issued < total:
            issued += 1
            n = issued
            kind, text = ("max", maker.maximum()) if max_every and n % max_every == 0 else ("typical", maker.soak(pool))
            await send(client, text, kind, tally, who=visitor(i))
            if n == warmup:
                marks["after_warmup"] = rss_mb(pid)
            if n % 500 == 0 and (m := rss_mb(pid)) is not None:
                samples.append(m)

    async with new_client(url, clients) as client:
        before = (await health(client))["cache"]
        t0 = time.perf_counter()
        await asyncio.gather(*(caller(client, i) for i in range(clients)))
        seconds = time.perf_counter() - t0
        after = (await health(client))["cache"]
    end = rss_mb(pid)
    start = marks.get("after_warmup")
    hits, misses = after["hits"] - before["hits"], after["misses"] - before["misses"]
    return {
        "clients": clients,
        "distinct_texts": pool,
        "max_size_every": max_every,
        "warmup_requests": warmup,
        **tally.summary(seconds),
        "rss_mb": {
            "after_warmup": _r(start),
            "end": _r(end),
            "peak": _r(max(samples + [end or 0])) if pid else None,
            "growth": _r(end - start) if start is not None and end is not None else None,
            "limit": RSS_GROWTH_LIMIT_MB,
        },
        "cache": {
            "hits": hits,
            "misses": misses,
            "hit_rate": round(hits / (hits + misses), 3) if hits + misses else None,
            "size": after["size"],
            "max_size": after["max_size"],
        },
    }


async def run_burst(url: str, size: int, rounds: int, chars: int | None, pid: int | None, seed: int) -> dict:
    """``size`` requests of ``chars`` characters (default: the maximum) at once, ``rounds`` times.

    Each must be answered 200 or 503 + Retry-After, the server must stay healthy, and its memory level off.
    """
    info = await _health_of(url)
    chars = min(chars or info["max_chars"], info["max_chars"])
    results = []
    for n in range(rounds):
        results.append(await _burst_once(url, size, pid, TextMaker(chars, seed + n)))
    growth = (
        results[-1]["rss_mb"]["after"] - results[0]["rss_mb"]["after"]
        if rounds > 1 and results[0]["rss_mb"]["after"] is not None
        else None
    )
    return {
        "requests": size * rounds,
        "characters_each": chars,
        "rounds": results,
        "queue_limit": info["queue"]["workers"] + info["queue"]["max_waiting"],
        "ok": sum(r["ok"] for r in results),
        "rejected_503": sum(r["rejected_503"] for r in results),
        "failed": sum(r["failed"] for r in results),
        "errors": dict(sum((Counter(r["errors"]) for r in results), Counter())),
        "rss_growth_after_first_round_mb": _r(growth),
        "healthy_after": all(r["healthy_after"] for r in results),
        "queue_after": results[-1]["queue_after"],
    }


async def _burst_once(url: str, size: int, pid: int | None, maker: TextMaker) -> dict:
    texts = [maker.maximum() for _ in range(size)]
    tally = Tally()
    before = rss_mb(pid)
    peak = [before or 0.0]
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            peak.append(rss_mb(pid) or 0.0)
            await asyncio.sleep(0.05)

    t0 = time.perf_counter()
    async with new_client(url, size) as client:
        watcher = asyncio.create_task(watch())
        prober = asyncio.create_task(_probe(url, maker.short()))
        await asyncio.gather(
            *(send(client, t, "max", tally, allow_503=True, who=visitor(i)) for i, t in enumerate(texts))
        )
        seconds = time.perf_counter() - t0
        done.set()
        await watcher
        probe = await prober
        await asyncio.sleep(0.5)
        try:
            after = await health(client)
        except (httpx.HTTPError, ValueError) as e:
            after = {"status": f"no answer: {type(e).__name__}"}
    return {
        **tally.summary(seconds),
        "refused_latency_ms": latency_summary(tally.refused_ms),
        "probe_1s_in": probe,
        "rss_mb": {"before": _r(before), "peak": _r(max(peak)) if pid else None, "after": _r(rss_mb(pid))},
        "healthy_after": after.get("status") == "ok",
        "queue_after": after.get("queue"),
    }


async def _probe(url: str, short_text: str) -> dict:
    """A second client, one second into a burst: does health answer, and how fast is a short text answered or
    refused?"""
    await asyncio.sleep(1.0)
    out: dict = {}
    async with new_client(url, 2, timeout=60) as client:
        for name, call in (
            ("health", lambda: client.get("/api/health")),
            ("short_text", lambda: client.post("/api/ner", json={"text": short_text})),
        ):
            t0 = time.perf_counter()
            try:
                r = await call()
                out[name] = {"status": r.status_code, "ms": round((time.perf_counter() - t0) * 1000, 1)}
            except httpx.HTTPError as e:
                out[name] = {"status": type(e).__name__, "ms": None}
    return out


async def _health_of(url: str) -> dict:
    async with new_client(url, 1) as client:
        return await health(client)


async def event_index(client: httpx.AsyncClient, elem_id: str) -> int:
    """The queue's index of the event that the button ``elem_id`` triggers (from the page's /config)."""
    config = (await client.get("/config")).json()
    button = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    return next(i for i, d in enumerate(config["dependencies"]) if [button, "click"] in [list(t) for t in d["targets"]])


async def call_event(
    client: httpx.AsyncClient, elem_id: str, data: list, timeout: float = 180, visitor: str | None = None,
    fn: int | None = None,
) -> dict:
    """Run the UI event triggered by the button ``elem_id`` (or the queue's event ``fn``) as a browser would
    (Gradio's queue); its last message, with the seconds it took from joining the queue."""
    fn = await event_index(client, elem_id) if fn is None else fn
    session = f"probe{time.time_ns()}{random.random()}"
    t0 = time.perf_counter()
    r = await client.post(
        "/gradio_api/queue/join",
        json={"data": data, "fn_index": fn, "session_hash": session, "event_data": None, "trigger_id": None},
        headers={"x-forwarded-for": visitor} if visitor else None,
    )
    if r.status_code != 200:  # refused at the join (413 body, 429 visitor bound, queue full)
        return {"success": False, "status": r.status_code, "seconds": round(time.perf_counter() - t0, 2),
                "error": r.text[:200]}
    async with client.stream("GET", f"/gradio_api/queue/data?session_hash={session}", timeout=timeout) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    out = msg.get("output") or {}
                    return {
                        "success": msg.get("success"),
                        "seconds": round(time.perf_counter() - t0, 2),
                        "error": (out.get("error") or "")[:200] if not msg.get("success") else None,
                        "data": out.get("data") if msg.get("success") else None,
                    }
    return {"success": None, "seconds": round(time.perf_counter() - t0, 2), "error": "no completion message"}


async def upload(client: httpx.AsyncClient, name: str, content: bytes) -> tuple[int, dict | None]:
    """Upload one file as the File box does; (status, FileData for an event) ."""
    r = await client.post("/gradio_api/upload", files={"files": (name, content, "text/plain")})
    if r.status_code != 200:
        return r.status_code, None
    return 200, {"path": r.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}


async def run_hostile(url: str) -> dict:
    """Each attack of issue 19, with how it was answered and how fast (must be a clear refusal within 1 s)."""
    out: dict = {}
    secret = str(raner.DEFAULT_MODEL / "vocab.txt")
    async with new_client(url, 8, timeout=300) as client:
        forged = {"path": secret, "orig_name": "x.txt", "meta": {"_type": "gradio.FileData"}}
        r = await call_event(client, "rl-bulk-run", [forged, "text", "", "jsonl"])
        out["forged_path"] = {**r, "refused": r.get("success") is False and "[PAD]" not in json.dumps(r)}
        for name, body in (("queue_join_100mb", b"x" * 100_000_000), ("rest_100mb", b"x" * 100_000_000)):
            path = "/gradio_api/queue/join" if name.startswith("queue") else "/api/ner"
            t0 = time.perf_counter()
            r2 = await client.post(path, content=body, headers={"content-type": "application/json"})
            out[name] = {"status": r2.status_code, "seconds": round(time.perf_counter() - t0, 2)}
        t0 = time.perf_counter()
        r2 = await client.post(
            "/gradio_api/upload", files=[("files", (f"f{i}.txt", b"x" * 15_000_000)) for i in range(5)]
        )
        out["upload_5x15mb"] = {"status": r2.status_code, "seconds": round(time.perf_counter() - t0, 2)}
        status, newlines = await upload(client, "newlines.txt", b"\n" * 4_900_000)
        r = await call_event(client, "rl-bulk-run", [newlines, "text", "", "jsonl"]) if newlines else {"status": status}
        out["bulk_4.9mb_of_newlines"] = r
        status, line = await upload(client, "line.txt", ("长" * 100_000).encode("utf-8"))
        r = await call_event(client, "rl-bulk-run", [line, "text", "", "jsonl"]) if line else {"status": status}
        out["bulk_one_100k_line"] = {k: v for k, v in r.items() if k != "data"} | {
            "summary": (r.get("data") or [None, ""])[1]
        }
        status, many = await upload(client, "many.txt", ("马云在杭州阿里巴巴总部发表演讲。\n" * 80_000).encode("utf-8"))
        r = await call_event(client, "rl-bulk-run", [many, "text", "", "jsonl"]) if many else {"status": status}
        out["bulk_1.3m_chars"] = r
        status, formula = await upload(client, "f.txt", b'=HYPERLINK("http://x")\n@SUM(1)\n')
        r = await call_event(client, "rl-bulk-run", [formula, "text", "", "csv"])
        got = ""
        if r.get("success"):  # the download is a zip holding the CSV
            download = await client.get("/gradio_api/file=" + r["data"][0][0]["path"])
            archive = zipfile.ZipFile(io.BytesIO(download.content))
            got = archive.read(archive.namelist()[0]).decode("utf-8")
        out["csv_formula"] = {"success": r.get("success"), "escaped": "'=HYPERLINK" in got and "'@SUM" in got}
        r = await call_event(client, "rl-bench-run", ["字" * 4800, 3])
        out["benchmark_4800_chars"] = r
        async with new_client(url, 160, timeout=300) as wide:  # one connection per job: the client must not queue them
            most = ["马云在杭州。", LIMITS.bench_repeats]
            # a page is loaded once and its event sent 70 times (70 page loads at once are a flood of their own,
            # of Gradio's /config, that keeps both cores busy for seconds whatever the queue does)
            fn = await event_index(wide, "rl-bench-run")
            flood = await asyncio.gather(*(call_event(wide, "rl-bench-run", most, fn=fn) for _ in range(70)))
        t0 = time.perf_counter()
        ner = await client.post("/api/ner", json={"text": "马云在杭州。"})
        out["benchmark_flood_70"] = {
            "completed": sum(1 for f in flood if f.get("success")),
            "refused": sum(1 for f in flood if f.get("success") is False),
            "refused_within_1s": sum(1 for f in flood if f.get("success") is False and f["seconds"] < 1),
            "refusal_seconds": sorted(f["seconds"] for f in flood if f.get("success") is False)[::10],
            "other": [f for f in flood if f.get("success") is None][:2],
            "rest_after": ner.status_code,
        }
    return out


async def run_heavy(url: str, clients: int, seconds: float, seed: int) -> dict:
    """``clients`` short REST callers while one maximum Bulk job and one maximum benchmark run: the p95 they see."""
    info = await _health_of(url)
    maker = TextMaker(info["max_chars"], seed)
    async with new_client(url, 8, timeout=300) as client:
        # distinct lines (identical ones would be computed once), just under the Bulk character limit
        doc = "".join(f"{maker.typical()[:780]}（{i}）\n" for i in range(1200))[: info["max_chars"] * 49]
        _, big = await upload(client, "big.txt", doc.encode("utf-8"))
        # two visitors (a Bulk job and a benchmark from one visitor would be one job too many)
        bulk = asyncio.create_task(call_event(client, "rl-bulk-run", [big, "text", "", "jsonl"], visitor="10.0.0.1"))
        width, n = LIMITS.bench_chars // LIMITS.bench_lines, LIMITS.bench_lines
        most = ["\n".join(maker.typical()[:width] for _ in range(n)), LIMITS.bench_repeats]
        bench = asyncio.create_task(call_event(client, "rl-bench-run", most, visitor="10.0.0.2"))
        await asyncio.sleep(2)
        load = await run_load(url, clients, seconds, {"short": 1.0}, seed)
        bulk_r, bench_r = await bulk, await bench
        disk = None
        if bulk_r.get("success"):  # what the job left on disk (its download) against what was uploaded
            got = await client.get("/gradio_api/file=" + bulk_r["data"][0][0]["path"])
            disk = round(len(got.content) / len(doc.encode("utf-8")), 3)
    return {
        "load": load,
        "bulk": {**{k: v for k, v in bulk_r.items() if k != "data"}, "disk_to_input": disk},
        "benchmark": {k: v for k, v in bench_r.items() if k != "data"},
    }


async def run_memory(url: str, pid: int | None, texts: int, seed: int) -> dict:
    """Server RSS at the start and after ``texts`` distinct texts of 5-2,000 characters (one client at a time)."""
    rng = random.Random(seed)
    sentences = TextMaker(2000, seed).sentences
    start = rss_mb(pid)
    async with new_client(url, 4) as client:

        async def one(i: int) -> None:
            n = rng.randint(5, 2000)
            text = "".join(rng.choice(sentences) for _ in range(n // 10 + 1))[: n - 6] + f"#{i:05d}"
            r = await client.post("/api/ner", json={"text": text})
            r.raise_for_status()

        for i in range(0, texts, 4):
            await asyncio.gather(*(one(i + k) for k in range(4)))
    end = rss_mb(pid)
    return {
        "texts": texts,
        "rss_mb": {"start": _r(start), "end": _r(end), "growth": _r(end - start) if start and end else None},
    }


def _r(x: float | None) -> float | None:
    return round(x, 1) if x is not None else None


def checks(report: dict) -> list[dict]:
    """Pass/fail lines: no failed request anywhere, soak memory growth under the limit, burst answered and healthy."""
    out = []
    for part in ("load", "soak", "burst"):
        if part in report:
            r = report[part]
            out.append({"check": f"{part}: no failed requests", "ok": r["failed"] == 0, "detail": r["errors"]})
    if "soak" in report:
        g = report["soak"]["rss_mb"]["growth"]
        out.append(
            {
                "check": f"soak: server RSS grows < {RSS_GROWTH_LIMIT_MB:g} MB",
                "ok": g is None or g < RSS_GROWTH_LIMIT_MB,
                "detail": "no --pid: not measured" if g is None else f"{g} MB",
            }
        )
    if "burst" in report:
        b = report["burst"]
        out.append(
            {
                "check": "burst: every request answered 200 or 503 + Retry-After",
                "ok": b["ok"] + b["rejected_503"] == b["requests"],
                "detail": f"{b['ok']} ok, {b['rejected_503']} refused",
            }
        )
        out.append({"check": "burst: server healthy afterwards", "ok": b["healthy_after"], "detail": b["queue_after"]})
        g = b["rss_growth_after_first_round_mb"]
        if g is not None:
            out.append(
                {
                    "check": "burst: server RSS levels off "
                    f"(after last round - after first < {RSS_GROWTH_LIMIT_MB:g} MB)",
                    "ok": g < RSS_GROWTH_LIMIT_MB,
                    "detail": f"{g} MB",
                }
            )
    if "hostile" in report:
        h = report["hostile"]
        out.append(
            {
                "check": "hostile: forged path refused",
                "ok": h["forged_path"]["refused"],
                "detail": h["forged_path"].get("error"),
            }
        )
        fast = {k: h[k] for k in ("queue_join_100mb", "rest_100mb", "upload_5x15mb")}
        out.append(
            {
                "check": "hostile: oversized bodies get 413 within 1 s",
                "ok": all(v["status"] == 413 and v["seconds"] < 1 for v in fast.values()),
                "detail": fast,
            }
        )
        out.append(
            {"check": "hostile: CSV formulas escaped", "ok": h["csv_formula"]["escaped"], "detail": h["csv_formula"]}
        )
        f = h["benchmark_flood_70"]
        out.append(
            {
                "check": "hostile: a benchmark flood is turned away and REST still answers",
                "ok": f["rest_after"] == 200 and f["completed"] + f["refused"] == 70,
                "detail": f,
            }
        )
    if "heavy" in report:
        p95 = report["heavy"]["load"]["latency_ms"]["p95"]
        out.append(
            {
                "check": "heavy: REST p95 <= 1 s while a Bulk job and a benchmark run",
                "ok": p95 is not None and p95 <= 1000,
                "detail": f"p95 {p95} ms",
            }
        )
        ratio = report["heavy"]["bulk"].get("disk_to_input")
        out.append(
            {
                "check": "heavy: a Bulk job's output on disk <= 3 x its input",
                "ok": ratio is not None and ratio <= 3,
                "detail": f"{ratio} x",
            }
        )
    if "memory" in report:
        g = report["memory"]["rss_mb"]["growth"]
        out.append(
            {
                "check": "memory: RSS growth <= 50 MB over the distinct texts",
                "ok": g is None or g <= 50,
                "detail": report["memory"]["rss_mb"],
            }
        )
    return out


def start_server(model: str | None, threads: int) -> tuple[subprocess.Popen, str]:
    """``python app.py`` on a free loopback port; returns the process and its URL once /api/health answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(
        os.environ,
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
        GRADIO_ANALYTICS_ENABLED="False",
        RANER_THREADS=str(threads),
        RANER_PROXY_HOPS="1",  # the probe stands in for a proxy: the address it sends is the visitor (visitor())
    )
    if model:
        env["RANER_MODEL"] = model
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("app.py exited: " + (proc.stderr.read() if proc.stderr else "").strip())
        try:
            httpx.get(url + "/api/health", timeout=2, trust_env=False).raise_for_status()
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("app.py did not answer within 120 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python scripts/load.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--url", help="an app already running on loopback (default: start app.py on a free port)")
    ap.add_argument("--pid", type=int, help="with --url: the server's process id, for its memory (VmRSS)")
    ap.add_argument("--model", help="model directory for the app this script starts (default: the shipped model)")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime threads of the app this script starts")
    ap.add_argument("--parts", default="load,soak,burst", help=f"comma-separated, from: {', '.join(PARTS)}")
    ap.add_argument("--memory-texts", type=int, default=5000, help="memory part: distinct texts of 5-2,000 characters")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="5 s load, 1,000-request soak, one 200-request burst of 2,000-character texts",
    )
    ap.add_argument("--clients", type=int, default=32, help="concurrent clients of the load part")
    ap.add_argument("--duration", type=float, help="seconds of the load part (default 30; 5 with --quick)")
    ap.add_argument("--mix", default="short=0.75,typical=0.2,max=0.05", help="load part: share of each request size")
    ap.add_argument("--soak", type=int, help="requests of the soak (default 20,000; 1,000 with --quick)")
    ap.add_argument("--soak-clients", type=int, default=8)
    ap.add_argument(
        "--soak-pool", type=int, default=5000, help="distinct texts the soak draws from (the cache holds 1,024)"
    )
    ap.add_argument("--soak-max-every", type=int, default=500, help="every Nth soak request is maximum-size (0: never)")
    ap.add_argument("--burst", type=int, help="simultaneous maximum-size requests (default 512; 200 with --quick)")
    ap.add_argument("--burst-rounds", type=int, help="bursts one after another (default 3; 1 with --quick)")
    ap.add_argument(
        "--burst-chars",
        type=int,
        help="characters of each burst text (default: the server's max_chars; 2,000 with --quick)",
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path, help="also write the report here as JSON")
    args = ap.parse_args(argv)
    args.duration = args.duration or (5.0 if args.quick else 30.0)
    args.soak = args.soak or (1000 if args.quick else 20000)
    args.burst = args.burst or (200 if args.quick else 512)
    args.burst_rounds = args.burst_rounds or (1 if args.quick else 3)
    args.burst_chars = args.burst_chars or (2000 if args.quick else None)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        ap.error(f"unknown part(s) {sorted(unknown)}; choose from {', '.join(PARTS)}")
    try:
        args.mix = {k: float(v) for k, v in (item.split("=") for item in args.mix.split(","))}
    except ValueError:
        ap.error("--mix looks like short=0.75,typical=0.2,max=0.05")
    if set(args.mix) - set(KINDS) or sum(args.mix.values()) <= 0:
        ap.error(f"--mix names sizes from {KINDS} with positive weights")
    return args


def run(args: argparse.Namespace, url: str, pid: int | None) -> dict:
    """Every requested part in turn against one server; the report with its checks."""
    report: dict = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "load_average_at_start": os.getloadavg(),
        "url": url,
        "server_pid": pid,
        "server_rss_mb_at_start": _r(rss_mb(pid)),
    }
    if "load" in args.parts:
        report["load"] = asyncio.run(run_load(url, args.clients, args.duration, args.mix, args.seed))
        _progress("load", report["load"])
    if "soak" in args.parts:
        report["soak"] = asyncio.run(
            run_soak(url, args.soak, args.soak_clients, pid, args.soak_pool, args.soak_max_every, args.seed + 1)
        )
        _progress("soak", report["soak"])
    if "burst" in args.parts:
        report["burst"] = asyncio.run(
            run_burst(url, args.burst, args.burst_rounds, args.burst_chars, pid, args.seed + 2)
        )
        _progress("burst", report["burst"])
    if "memory" in args.parts:
        report["memory"] = asyncio.run(run_memory(url, pid, args.memory_texts, args.seed + 3))
        print(f"memory: {report['memory']}", flush=True)
    if "hostile" in args.parts:
        report["hostile"] = asyncio.run(run_hostile(url))
        for k, v in report["hostile"].items():
            print(f"hostile {k}: {v}", flush=True)
    if "heavy" in args.parts:
        report["heavy"] = asyncio.run(run_heavy(url, 40, args.duration, args.seed + 4))
        _progress("heavy (40 REST clients)", report["heavy"]["load"])
        print(f"heavy: bulk {report['heavy']['bulk']}; benchmark {report['heavy']['benchmark']}", flush=True)
    report["checks"] = checks(report)
    report["ok"] = all(c["ok"] for c in report["checks"])
    return report


def _progress(part: str, r: dict) -> None:
    """One line a part (a line a round for bursts), as the run goes."""
    if "rounds" in r:
        for i, one in enumerate(r["rounds"], 1):
            _progress(f"{part} {i}/{len(r['rounds'])}", one)
        return
    lat = r["latency_ms"]
    line = (
        f"{part}: {r['requests']} requests in {r['seconds']} s ({r['requests_per_s']}/s), ok {r['ok']}, "
        f"503 {r['rejected_503']}, failed {r['failed']}; "
        f"latency ms p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} max {lat['max']}"
    )
    if "rss_mb" in r:
        line += f"; RSS MB {r['rss_mb']}"
    if "cache" in r:
        line += f"; cache hit rate {r['cache']['hit_rate']}"
    if "refused_latency_ms" in r:
        line += f"; 503 answered in p50 {r['refused_latency_ms']['p50']} ms; probe 1 s in: {r['probe_1s_in']}"
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    proc = None
    try:
        if args.url:
            url, pid = check_loopback(args.url), args.pid
            try:
                httpx.get(url + "/api/health", timeout=5, trust_env=False).raise_for_status()
            except httpx.HTTPError as e:
                raise RuntimeError(f"no answer from {url}/api/health ({type(e).__name__}: {e})") from None
        else:
            proc, url = start_server(args.model, args.threads)
            pid = proc.pid
    except (RefusedTarget, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        report = run(args, url, pid)
    finally:
        if proc is not None:
            stop_server(proc)
    for c in report["checks"]:
        print(f"{'PASS' if c['ok'] else 'FAIL'}  {c['check']}  ({c['detail']})")
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
