"""A bound on the disk that uploads take: Gradio keeps an upload until its cache clean-up (up to 15 minutes) and caps
only each request, so without this any visitor could fill the disk with 5 MB files one request after another."""
from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from .limits import visitor_of
from .rest import error_response, route_of

UPLOAD = "/gradio_api/upload"


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder`` (files vanishing meanwhile are skipped)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name), follow_symlinks=False).st_size
            except OSError:
                continue
    return total


class UploadBudget:
    """ASGI middleware on Gradio's upload route: a visitor may send ``per_visitor`` uploads a ``window`` of seconds
    (429 past it), and an upload is refused with 503 when the upload folder (``used()``) and the uploads still
    arriving, each counted at ``upload_bytes``, leave no room for one more. Bulk jobs delete their upload once read,
    so in use it stays far below."""

    def __init__(self, app: ASGIApp, used: Callable[[], int], total_bytes: int, upload_bytes: int, per_visitor: int,
                 window: float, hops: int = 0, clock: Callable[[], float] = time.monotonic):
        self.app, self.used, self.total, self.one, self.hops = app, used, total_bytes, upload_bytes, hops
        self.per_visitor, self.window, self.clock = per_visitor, window, clock
        self._sent: dict[str, deque[float]] = {}
        self._receiving = 0  # uploads under way, each counted at the most one upload can hold

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or route_of(scope.get("path", "")) != UPLOAD:
            await self.app(scope, receive, send)
            return
        now, visitor = self.clock(), visitor_of(Request(scope), self.hops)
        for who in [w for w, times in self._sent.items() if not times or now - times[-1] > self.window]:
            del self._sent[who]  # visitors with nothing recent are forgotten: the table stays small
        sent = self._sent.setdefault(visitor, deque())
        while sent and now - sent[0] > self.window:
            sent.popleft()
        if len(sent) >= self.per_visitor:
            minutes = max(1, round(self.window / 60))
            await error_response(f"too many uploads: at most {self.per_visitor} in {minutes} minutes from one "
                                 "visitor; annotate big corpora with `python -m raner annotate`", 429)(
                scope, receive, send)
            return
        if self.used() + (self._receiving + 1) * self.one > self.total:
            await error_response("the server's upload space is full; try again in a few minutes", 503)(
                scope, receive, send)
            return
        sent.append(now)
        self._receiving += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self._receiving -= 1
