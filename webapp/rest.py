"""Plain JSON REST routes: ``POST /api/ner`` and ``GET /api/health``, errors as ``{"error": ...}``."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, StrictStr, StringConstraints
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .limits import visitor_of, visitor_refusal
from .service import MAX_USER_WORD_LEN, MAX_USER_WORDS, USER_DICT_CHARS, NerService, RequestError, user_dict_lines

API_PREFIX = "/api/"
LONG_CHARS = 1000  # texts longer than this take the long lane (see Admission)
CLIENT_GONE = 499  # nginx's "client closed request": nobody reads it, it only marks the log line


class NerRequest(BaseModel):
    """Body of ``POST /api/ner``."""

    model_config = ConfigDict(extra="forbid")
    text: StrictStr = Field(description="Text to analyse (at most the server's max_chars characters).")
    variant: StrictStr | None = Field(
        default=None, description='Model variant (see GET /api/health); omitted, null or "": the default.'
    )
    user_dict: (
        Annotated[
            dict[Annotated[str, StringConstraints(strict=True, max_length=MAX_USER_WORD_LEN)], StrictStr],
            Field(max_length=MAX_USER_WORDS),
        ]
        | Annotated[StrictStr, StringConstraints(max_length=USER_DICT_CHARS)]
        | None
    ) = Field(
        default=None,
        description='Words that must come out as entities: {"字节跳动": "ORG"}, or the same as "词语 TYPE" lines as '
        f"the app and gradio_client take them (at most {MAX_USER_WORDS:,} words of {MAX_USER_WORD_LEN} characters; "
        "types: the model's, PER/LOC/ORG for the shipped one); they win over overlapping model entities.",
    )


class EntityOut(BaseModel):
    text: str
    type: str = Field(description="PER, LOC or ORG")
    start: int = Field(description="Index of the first character in the request text")
    end: int = Field(description="Index after the last character (text[start:end] == entity text)")
    score: float | None = Field(
        default=None, description="CRF probability that exactly this span is one entity of this type"
    )


class NerResponse(BaseModel):
    entities: list[EntityOut]


class ErrorResponse(BaseModel):
    error: str


class CacheInfo(BaseModel):
    """The default variant's result cache (an LRU of whole request texts)."""

    hits: int
    misses: int
    hit_rate: float
    size: int
    max_size: int


class QueueInfo(BaseModel):
    """REST inference admission: running and waiting calls, and how many were turned away with 503."""

    workers: int
    long_workers: int = Field(description=f"workers that texts over {LONG_CHARS} characters may use at once")
    max_waiting: int
    running: int
    waiting: int
    rejected: int


class Health(BaseModel):
    status: str
    model: str
    variants: list[str]
    default_variant: str
    version: str
    max_chars: int
    cache: CacheInfo
    queue: QueueInfo


class Admission:
    """Bounds concurrent inference to ``workers``; past ``max_waiting`` queued calls, callers get 503 + Retry-After.

    Counted in the event loop before a call takes a worker thread, so a burst holds neither threads nor
    the thread pool that Gradio shares, and what waits is bounded. Long texts (``long=True``) also need one
    of ``long_workers`` lanes: a maximum-size text costs about a thousand short ones, so without the lane a
    few of them would hold every worker and short requests would wait behind them.
    """

    def __init__(self, workers: int = 2, max_waiting: int = 64, long_workers: int = 1, per_visitor: int = 8):
        self.workers, self.max_waiting, self.long_workers = workers, max_waiting, long_workers
        self.per_visitor = per_visitor  # calls one visitor may have waiting: one client cannot fill the queue
        self.running = self.waiting = self.rejected = 0
        self._waiting_by: Counter[str] = Counter()
        self._slots: anyio.Semaphore | None = None  # made on first use, inside the server's event loop
        self._long: anyio.Semaphore | None = None

    @asynccontextmanager
    async def slot(self, long: bool = False, visitor: str = "local") -> AsyncIterator[None]:
        """Hold a worker (and for a long text a long lane) for the ``async with``; RequestError 503 if the queue
        is full, 429 if this visitor already has ``per_visitor`` calls waiting."""
        if self._slots is None or self._long is None:
            self._slots, self._long = anyio.Semaphore(self.workers), anyio.Semaphore(self.long_workers)
        held: list[anyio.Semaphore] = []
        try:
            for lane in ([self._long] if long else []) + [self._slots]:
                await self._acquire(lane, visitor)
                held.append(lane)
            self.running += 1
            try:
                yield
            finally:
                self.running -= 1
        finally:
            for lane in reversed(held):
                lane.release()

    async def _acquire(self, lane: anyio.Semaphore, visitor: str) -> None:
        try:
            lane.acquire_nowait()
            return
        except anyio.WouldBlock:
            pass
        if self.waiting >= self.max_waiting:
            self.rejected += 1
            raise RequestError(f"server busy: {self.waiting} requests already waiting; retry shortly", 503)
        if self._waiting_by[visitor] >= self.per_visitor:
            self.rejected += 1
            raise RequestError(visitor_refusal(self.per_visitor), 429)
        self.waiting += 1
        self._waiting_by[visitor] += 1
        try:
            await lane.acquire()
        finally:
            self.waiting -= 1
            self._waiting_by[visitor] -= 1
            if not self._waiting_by[visitor]:
                del self._waiting_by[visitor]

    def info(self) -> dict:
        """Current figures for the health route."""
        return {
            "workers": self.workers,
            "long_workers": self.long_workers,
            "max_waiting": self.max_waiting,
            "running": self.running,
            "waiting": self.waiting,
            "rejected": self.rejected,
        }


class BodyLimit:
    """ASGI middleware: 413 for a request body under ``prefix`` over ``limit`` bytes, counted as it arrives
    (chunked bodies too), before anything parses it. ``what`` says in the error what the limit is for; paths under
    ``skip`` have a bound of their own."""

    def __init__(self, app: ASGIApp, prefix: str, limit: int, what: str, skip: tuple[str, ...] = ()):
        self.app, self.prefix, self.limit, self.what, self.skip = app, prefix, limit, what, skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(self.prefix) or path.startswith(self.skip):
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and not length.isdigit():
            await error_response(f"invalid Content-Length header {length[:40]!r}", 400)(scope, receive, send)
            return
        if length is not None and int(length) > self.limit:
            await self._too_large(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before sending its body
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await self._too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(f"request body too large (over {self.limit:,} bytes); {self.what}", 413)(
            scope, receive, send
        )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive callable that first hands over the already-read body, then passes through (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class NoRoute:
    """ASGI app mounted at /api behind the real routes: unknown paths and methods (any method) get JSON 404/405."""

    def __init__(self, api: FastAPI):
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope)
        path = request.url.path
        allowed = sorted({m for r in self.api.routes if isinstance(r, APIRoute) and r.path == path for m in r.methods})
        if allowed:
            response = error_response(
                f"method {request.method} not allowed on {path}; use {', '.join(allowed)}",
                405,
                {"Allow": ", ".join(allowed)},
            )
        else:
            response = error_response(
                f"no such API route: {path}; the REST API has POST /api/ner and GET /api/health", 404
            )
        await response(scope, receive, send)


ERRORS = {
    400: {"model": ErrorResponse},
    413: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
    429: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}


def route_of(path: str) -> str:
    """A request path as the router matches it: repeated and trailing slashes dropped."""
    return "/" + "/".join(part for part in path.split("/") if part)


def error_response(message: str, status: int, headers: dict | None = None) -> JSONResponse:
    """The one error shape of the REST API; 429 and 503 say when to come back."""
    headers = dict(headers or {})
    if status in (429, 503):
        headers["Retry-After"] = "1"
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def describe_validation(request: Request, exc: RequestValidationError) -> str:
    """One sentence naming what is wrong with a request body."""
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        if err.get("type") == "json_invalid":
            problems.append(
                f"body is not valid JSON ({err.get('ctx', {}).get('error', 'decode error')} "
                f"at character {loc[0] if loc else '?'})"
            )
        elif not loc and err.get("type") in ("model_attributes_type", "dict_type", "missing"):
            ctype = request.headers.get("content-type")
            if ctype and "json" not in ctype.lower():
                problems.append(
                    f"the body must be a JSON object sent with Content-Type: application/json, not {ctype[:60]!r}"
                )
            elif not ctype:
                problems.append(
                    "the body must be a JSON object sent with Content-Type: application/json (the header is missing)"
                )
            else:
                problems.append(f'body: {err.get("msg", "invalid")}; send a JSON object like {{"text": "..."}}')
        else:
            problems.append(f"{'.'.join(loc) or 'body'}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(problems)


def document_limits(app: FastAPI, service: NerService) -> None:
    """Write the model's own variant names and the text limit into /openapi.json, so clients and fuzzers see them."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            props = build()["components"]["schemas"]["NerRequest"]["properties"]
            props["text"]["maxLength"] = service.max_chars
            # "" and null both mean the default variant (the UI's dropdown and Gradio clients send "").
            props["variant"]["anyOf"] = [{"type": "string", "enum": ["", *service.variants]}, {"type": "null"}]
            # user_dict: the model's own entity types
            for option in props["user_dict"]["anyOf"]:
                if option.get("type") == "object":
                    option["additionalProperties"] = {"type": "string", "enum": list(service.types)}
                if option.get("type") == "string":
                    option["pattern"] = user_dict_lines(service.types)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def docs_page(schema: dict) -> str:
    """A plain HTML reference of the REST API, written from its OpenAPI schema (Swagger UI would need a CDN)."""
    esc = html.escape
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>{esc(schema['info']['title'])} API</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;"
        "background:#0b0d17;color:#e6e6f0}code,pre{font-family:ui-monospace,monospace;background:#161a2e;"
        "padding:.1rem .3rem}h2{color:#00e5ff}a{color:#ff2bd6}</style>",
        f"<h1>{esc(schema['info']['title'])} {esc(schema['info']['version'])}</h1>",
        f"<p>{esc(schema['info'].get('description', ''))} "
        "Machine-readable: <a href='/openapi.json'>/openapi.json</a>.</p>",
    ]
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            parts.append(f"<h2><code>{method.upper()} {esc(path)}</code></h2><p>{esc(op.get('summary', ''))}</p>")
            ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
            body = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}) if ref else {}
            for name, prop in body.get("properties", {}).items():
                parts.append(
                    f"<p><code>{esc(name)}</code>{' (required)' if name in body.get('required', []) else ''}: "
                    f"{esc(prop.get('description', ''))}</p>"
                )
            codes = ", ".join(f"{c} {esc(r.get('description', ''))}" for c, r in op.get("responses", {}).items())
            parts.append(f"<p>Answers: {codes}</p>")
    return "\n".join(parts)


def add_rest_routes(app: FastAPI, service: NerService, admission: Admission | None = None) -> None:
    """Register the REST routes, the body limit and JSON error handlers on ``app``."""
    admission = admission or Admission(workers=service.limits.workers, max_waiting=service.limits.rest_waiting,
                                       per_visitor=service.limits.visitor_waiting)
    lines = re.compile(user_dict_lines(service.types))
    document_limits(app, service)
    app.add_middleware(
        BodyLimit,
        prefix=API_PREFIX,
        limit=service.limits.body_bytes,
        what=f"the limit is {service.max_chars} characters of text",
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return error_response(describe_validation(request, exc), 422)

    @app.exception_handler(RequestError)
    async def _bad(request: Request, exc: RequestError):
        return error_response(str(exc), exc.status)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        """A bug still answers in the error shape, with no trace to the client (uvicorn logs it)."""
        return error_response("internal error while processing the request", 500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if not request.url.path.startswith(API_PREFIX):
            return await http_exception_handler(request, exc)
        message = str(exc.detail)
        if exc.status_code == 400:  # FastAPI's answer to a body json.loads could not read
            message = "invalid request: the body could not be parsed (send UTF-8 JSON, not nested too deeply)"
        return error_response(message, exc.status_code, exc.headers)

    @app.post(
        "/api/ner",
        response_model=NerResponse,
        responses=ERRORS,
        tags=["ner"],
        summary="Find PER/LOC/ORG entities in a text",
    )
    async def api_ner(body: NerRequest, request: Request) -> dict | Response:
        if isinstance(body.user_dict, str) and not lines.fullmatch(body.user_dict):
            raise RequestError(
                f"user_dict: expected lines of '词语 TYPE' (TYPE one of {', '.join(service.types)}; at most "
                f"{MAX_USER_WORDS:,} lines, words of at most {MAX_USER_WORD_LEN} characters) or an object "
                '{"词语": "TYPE"}',
                422,
            )
        service.check(body.text, body.variant, body.user_dict)
        visitor = visitor_of(request, service.limits.proxy_hops)
        async with admission.slot(long=len(body.text) > LONG_CHARS, visitor=visitor):
            if await request.is_disconnected():
                return Response(status_code=CLIENT_GONE)
            result = await run_in_threadpool(service.ner, body.text, body.variant, body.user_dict)
        return result.to_dict()

    @app.get(
        "/api/health",
        response_model=Health,
        tags=["ner"],
        operation_id="health",
        summary="Model name, variants, version, cache and queue",
    )
    async def api_health() -> dict:
        return {**service.health(), "queue": admission.info()}

    @app.head(
        "/api/health",
        tags=["ner"],
        operation_id="health_head",
        summary="Is the server up (no body)",
        response_class=Response,
    )
    async def api_health_head() -> Response:
        return Response(status_code=200)

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    async def docs() -> HTMLResponse:
        """The API described from /openapi.json on one page that loads nothing from the network."""
        return HTMLResponse(docs_page(app.openapi()))

    # After the real routes and before the Gradio mount at "/", which would answer with its own 404 page.
    app.mount(API_PREFIX.rstrip("/"), NoRoute(app))
