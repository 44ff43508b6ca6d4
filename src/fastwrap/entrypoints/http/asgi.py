"""The ASGI factory uvicorn imports (`--factory`), so each worker builds its own container."""

from __future__ import annotations

import gc

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastwrap.container import make_container
from fastwrap.entrypoints.http.app import create_app
from fastwrap.entrypoints.logs import configure_logging
from fastwrap.settings import Settings


class ServedApp:
    """What `fastwrap serve` wraps around the app's start-up.

    Uvicorn prints a failed start-up's message; for bad configuration or an unreachable
    dependency, make that message the domain's one-line reason instead of a traceback. Once
    start-up has completed, freeze what it built out of the garbage collector's passes."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_clean(message: Message) -> None:
            reason = getattr(self.app.state, "startup_error", None)
            if message["type"] == "lifespan.startup.failed" and reason:
                message = {**message, "message": f"FastWrap cannot start: {reason}"}
            elif message["type"] == "lifespan.startup.complete":
                freeze_startup_objects()
            await send(message)

        await self.app(scope, receive, send_clean)


# The collector's thresholds once start-up is frozen (CPython's are 700, 10, 10). A chat turn
# allocates a few thousand container objects (LangChain messages, the SDK's models, pydantic),
# almost none of them in cycles: at 700 a turn ran several young collections, each walking
# the survivors of the requests in flight. 20,000 cut the server's CPU per turn by 8-16% in
# two A/Bs on a slow, contended machine and changed it within noise in two on a quicker one
# (bench/chat.py --compare, docs/benchmarks.md "Session 8"); the young generation it lets
# build up is a few MB at most (RSS unchanged), and cycles are still collected.
GC_THRESHOLDS = (20_000, 20, 20)


def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, models, pools: ~200k objects) out of every later GC,
    and collect the young generation less often (GC_THRESHOLDS).

    They live as long as the process, yet the collector's full passes walked them all: under
    load, a pause of ~60 ms every few seconds (the p99 of a quick request) and a few % of the
    CPU. Only `fastwrap serve` does this: it owns its process, an embedding app owns its own.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def app_from_env() -> ASGIApp:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_dir, settings.log_format)
    return ServedApp(create_app(make_container(settings)))
