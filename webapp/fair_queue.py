"""A per-visitor bound on Gradio's queue: one visitor may have at most a few events waiting, so no client can fill
the queue (64 events for everyone) by itself; more joins are answered 429 at once, before Gradio reads them."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from .limits import visitor_of, visitor_refusal
from .rest import error_response, route_of

JOIN = "/gradio_api/queue/join"
CALL = "/gradio_api/call/"  # the simple API's POST /gradio_api/call/<name> and /call/v2/<name> join the queue too


def queue_target(path: str) -> str | None:
    """What a POST to ``path`` puts into Gradio's queue: ``""`` for the page's join (the event is in the body), the
    API name for a simple-API call, None for any other route (repeated and trailing slashes as the router reads
    them)."""
    path = route_of(path)
    if path == JOIN:
        return ""
    rest = path[len(CALL):].split("/") if path.startswith(CALL) else []
    if len(rest) == 1 or (len(rest) == 2 and rest[0] == "v2"):
        return rest[-1]
    return None


class FairQueue:
    """ASGI middleware: a POST that joins Gradio's queue (the page's join or the simple API's call) is refused with
    429 when its visitor already has ``limit`` events waiting in the queue (``waiting(visitor)``) or joining right
    now (counted here until Gradio answers the join, so a burst of simultaneous joins is bounded too); a call to an
    API name not in ``names`` gets 404 before Gradio sees it, and one whose arguments Gradio cannot read 400."""

    def __init__(self, app: ASGIApp, waiting: Callable[[str], int], limit: int, hops: int = 0,
                 names: frozenset[str] | None = None):
        self.app, self.waiting, self.limit, self.hops, self.names = app, waiting, limit, hops, names
        self._joining: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = queue_target(scope.get("path", "")) if scope["type"] == "http" else None
        if target is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        if target and self.names is not None and target not in self.names:  # Gradio answers 500 and logs a trace
            await error_response(f"no API named {target[:60]!r}", 404)(scope, receive, send)
            return
        visitor = visitor_of(Request(scope), self.hops)
        if self.waiting(visitor) + self._joining[visitor] >= self.limit:
            await error_response(visitor_refusal(self.limit), 429)(scope, receive, send)
            return
        self._joining[visitor] += 1
        held: list = []  # a 500 that Gradio's own error handler sends just before its exception reaches us
        sent = False

        async def hold_500(message) -> None:
            nonlocal sent
            if held or (message["type"] == "http.response.start" and message["status"] == 500):
                held.append(message)
            else:
                sent = True
                await send(message)

        try:
            await self.app(scope, receive, hold_500)
            for message in held:  # a 500 without an exception behind it goes out as it was
                await send(message)
        except (TypeError, ValueError) as e:  # a body Gradio cannot map onto the API (v2's keywords): 400, not 500
            if sent:
                raise
            await error_response(f"the call's arguments cannot be read: {str(e)[:300]}", 400)(scope, receive, send)
        finally:
            self._joining[visitor] -= 1
            if not self._joining[visitor]:
                del self._joining[visitor]


def waiting_in(demo, hops: int = 0) -> Callable[[str], int]:
    """How many events of a visitor wait (not yet run) in a Blocks app's queue. Reads Gradio's queue as gradio 6
    keeps it (one list of events per concurrency group, each event holding its request); 0 if that changes."""

    def count(visitor: str) -> int:
        try:
            groups = list(demo._queue.event_queue_per_concurrency_id.values())
        except AttributeError:  # another Gradio: only the joins counted by FairQueue itself bound the visitor
            return 0
        return sum(visitor_of(getattr(event, "request", None), hops) == visitor
                   for group in groups for event in group.queue)

    return count
