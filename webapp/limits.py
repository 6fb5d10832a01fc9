"""Every resource a visitor can spend, bounded in one place (read from the environment once, at start).

docs/RELIABILITY.md lists these limits with the measurements behind them; change them with the environment
variables named in ``ENV`` (a bad value stops the app with a one-line reason, never a traceback).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path


class ConfigError(ValueError):
    """A setting the app cannot start with; its message says which variable and what to do."""


@dataclass(frozen=True)
class Limits:
    """What one request, one upload, one bulk job and one benchmark may use."""

    max_chars: int = 20_000  # characters of text per request (REST, /ner, the Detect tab)
    cache_max_chars: int = 1_000  # longer texts skip the result cache (they rarely repeat; the cache counts entries)
    upload_mb: int = 5  # one Bulk upload (Gradio's max_file_size; a whole upload request is capped just above it)
    uploads_mb: int = 200  # every file in the upload folder together (uploads, cached files, Bulk results)
    visitor_uploads: int = 12  # upload requests one visitor may send in bulk_keep_seconds (60 MB in 15 minutes)
    bulk_chars: int = 1_000_000  # characters per Bulk file (about 20-40 s of one core)
    bulk_documents: int = 50_000  # documents (lines, rows) per Bulk file, empty ones included
    bulk_output_ratio: int = 3  # a Bulk job's zipped output may take at most this many times its input's bytes
    # (zipped JSONL, CSV and CoNLL of MSRA/Weibo/Resume/CLUENER dev: 0.6-0.7x; of entity-dense news: 1.0x)
    bulk_seconds: int = 120  # wall-clock budget of one Bulk job; past it the job is stopped
    bulk_keep_seconds: int = 900  # a Bulk result stays downloadable this long, then it is deleted
    bench_lines: int = 20  # texts per live benchmark
    bench_chars: int = 2_000  # characters per live benchmark, all texts together
    bench_repeats: int = 30  # repeats per live benchmark (20 lines x 100 characters x 30 fits bench_seconds)
    bench_seconds: int = 90  # wall-clock budget of one live benchmark
    heavy_waiting: int = 2  # Bulk or benchmark jobs that may wait while one runs; more are turned away at once
    visitor_waiting: int = 8  # requests one visitor may have waiting, in Gradio's queue and for a REST worker each
    queue_size: int = 64  # Gradio's queue (every event together)
    rest_waiting: int = 64  # REST calls that may wait for a worker; more get 503 + Retry-After
    workers: int = 2  # inference calls at once (a 2-core machine)
    proxy_hops: int = 0  # trusted proxies in front of the app: a visitor is the address the outermost one saw
    # (X-Forwarded-For's hops-th entry from the right); 0 trusts no header: the peer address (default, and 1 on a
    # Hugging Face Space, whose proxy appends the visitor's address)
    threads: int = 1  # ONNX Runtime intra-op threads per call

    @property
    def upload_bytes(self) -> int:
        return self.upload_mb * 1_000_000

    @property
    def uploads_bytes(self) -> int:
        return self.uploads_mb * 1_000_000

    @property
    def body_bytes(self) -> int:
        """The largest JSON body a text request can need: every character an astral one sent as two \\uXXXX escapes,
        plus a user dictionary and the event's other fields."""
        return self.max_chars * 12 + 128_000

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Limits:
        """Limits with the ``ENV`` overrides applied; ConfigError naming the variable if one is not a whole number
        of at least 1 (0 too where ``ZERO_ALLOWED``). ``SPACE_ID`` set (a Hugging Face Space) trusts one proxy."""
        env = os.environ if environ is None else environ
        values = {"proxy_hops": 1} if env.get("SPACE_ID") else {}
        for f in fields(cls):
            var = ENV.get(f.name)
            raw = env.get(var) if var else None
            if raw is None or raw.strip() == "":
                continue
            try:
                value = int(raw.strip())
            except ValueError:
                raise ConfigError(
                    f"{var}={raw[:40]!r} is not a whole number; set it to a positive integer "
                    f"(default {f.default}) or unset it"
                ) from None
            least = 0 if f.name in ZERO_ALLOWED else 1
            if value < least:
                raise ConfigError(f"{var}={value} must be at least {least} (default {f.default})")
            values[f.name] = value
        limits = cls(**values)
        if limits.cache_max_chars > limits.max_chars:
            limits = cls(**{**values, "cache_max_chars": limits.max_chars})
        if limits.uploads_mb < 2 * limits.upload_mb:
            raise ConfigError(f"RANER_UPLOADS_MB={limits.uploads_mb} must be at least twice RANER_UPLOAD_MB="
                              f"{limits.upload_mb} (room for an upload and a Bulk job's output)")
        return limits


# Environment variables that override a limit (the rest are fixed by design).
ENV = {
    "max_chars": "RANER_MAX_CHARS",
    "cache_max_chars": "RANER_CACHE_MAX_CHARS",
    "threads": "RANER_THREADS",
    "upload_mb": "RANER_UPLOAD_MB",
    "uploads_mb": "RANER_UPLOADS_MB",
    "bulk_chars": "RANER_BULK_CHARS",
    "bulk_seconds": "RANER_BULK_SECONDS",
    "proxy_hops": "RANER_PROXY_HOPS",
}
ZERO_ALLOWED = {"proxy_hops"}  # the one setting whose 0 means something (no trusted proxy)


def writable_temp_dir() -> Path:
    """Gradio's upload and cache folder (``GRADIO_TEMP_DIR``, else the system's); ConfigError if it cannot be
    written."""
    folder = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".raner-write-check-"):
            pass
    except OSError as e:
        raise ConfigError(
            f"cannot write to the upload folder {folder} ({e.strerror or type(e).__name__}); "
            "set GRADIO_TEMP_DIR to a writable folder"
        ) from None
    return folder.resolve()


def visitor_of(request, hops: int = 0) -> str:
    """Who is asking (a Gradio, FastAPI or Starlette request), for the per-visitor bounds. With ``hops`` trusted
    proxies in front, the address the outermost of them saw: the ``hops``-th X-Forwarded-For entry from the right
    (entries further left are the client's to write, so a forged header cannot make one client many visitors);
    without, the peer address, whatever the header says."""
    if request is None:
        return "local"
    peer = request.client.host if request.client else "unknown"
    if hops <= 0:
        return peer
    entries = [e.strip() for e in (request.headers.get("x-forwarded-for") or "").split(",") if e.strip()]
    return entries[-hops] if len(entries) >= hops else peer


def visitor_refusal(waiting: int) -> str:
    """What a visitor over its bound of waiting requests is told (REST and Gradio's queue alike)."""
    return f"too many requests: you already have {waiting} waiting; wait for their answers"
