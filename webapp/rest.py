"""Plain JSON REST routes: ``POST /api/ner`` and ``GET /api/health``, errors as ``{"error": ...}``."""
from __future__ import annotations

import threading

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from .service import NerService, RequestError


class NerRequest(BaseModel):
    """Body of ``POST /api/ner``."""

    model_config = ConfigDict(extra="forbid")
    text: StrictStr = Field(description="Text to analyse (at most the server's max_chars characters).")
    variant: StrictStr | None = Field(default=None, description="Model variant; the default variant when omitted.")


class EntityOut(BaseModel):
    text: str
    type: str = Field(description="PER, LOC or ORG")
    start: int = Field(description="Index of the first character in the request text")
    end: int = Field(description="Index after the last character (text[start:end] == entity text)")


class NerResponse(BaseModel):
    entities: list[EntityOut]


class ErrorResponse(BaseModel):
    error: str


class Health(BaseModel):
    status: str
    model: str
    variants: list[str]
    default_variant: str
    version: str
    max_chars: int


class Admission:
    """Bounds concurrent inference; past ``max_waiting`` queued calls, callers get 503 + Retry-After."""

    def __init__(self, workers: int = 2, max_waiting: int = 64):
        self._slots = threading.BoundedSemaphore(workers)
        self._lock = threading.Lock()
        self._waiting, self.max_waiting = 0, max_waiting

    def __enter__(self):
        with self._lock:
            if self._waiting >= self.max_waiting:
                raise RequestError("server busy: too many requests waiting, retry shortly", 503)
            self._waiting += 1
        self._slots.acquire()
        with self._lock:
            self._waiting -= 1
        return self

    def __exit__(self, *exc):
        self._slots.release()


ERRORS = {400: {"model": ErrorResponse}, 413: {"model": ErrorResponse}, 422: {"model": ErrorResponse},
          503: {"model": ErrorResponse}}


def error_response(message: str, status: int) -> JSONResponse:
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def add_rest_routes(app: FastAPI, service: NerService, admission: Admission | None = None) -> None:
    """Register the REST routes and JSON error handlers on ``app``."""
    admission = admission or Admission()
    body_limit = service.max_chars * 4 + 4096

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        return error_response("invalid request: " + "; ".join(problems), 422)

    @app.exception_handler(RequestError)
    async def _bad(request: Request, exc: RequestError):
        return error_response(str(exc), exc.status)

    @app.middleware("http")
    async def _limit_body(request: Request, call_next):
        if request.url.path.startswith("/api/"):
            length = request.headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > body_limit):
                return error_response(f"request body too large; the limit is {service.max_chars} characters of text", 413)
        return await call_next(request)

    @app.post("/api/ner", response_model=NerResponse, responses=ERRORS, tags=["ner"],
              summary="Find PER/LOC/ORG entities in a text")
    def api_ner(body: NerRequest) -> dict:
        with admission:
            return service.ner(body.text, body.variant).to_dict()

    @app.get("/api/health", response_model=Health, tags=["ner"], summary="Model name, variants and version")
    def api_health() -> dict:
        return service.health()
