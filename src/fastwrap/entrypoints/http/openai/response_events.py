"""A streamed response as OpenAI's typed events, in OpenAI's order, numbered from 0: created,
in_progress, output_item.added, content_part.added, output_text.delta..., output_text.done,
content_part.done, output_item.done, completed. A failure once the response exists is
`response.failed` (the response with its error); before it exists, an `error` event. Either way
the domain stored nothing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson

from fastwrap.domain.errors import DomainError
from fastwrap.domain.model import ChatDelta
from fastwrap.domain.responses import Response
from fastwrap.entrypoints.http.openai.errors import kind_of
from fastwrap.entrypoints.http.openai.response_objects import (
    Echo,
    output_message,
    response_object,
    text_part,
)

log = logging.getLogger("fastwrap.openai")
INTERNAL = {"code": "internal_error", "message": "internal error"}
LIMITS = frozenset({"rate_limit_exceeded", "budget_exceeded"})


class EventWriter:
    """Numbers the events and frames them as SSE."""

    def __init__(self, echo: Echo) -> None:
        self.echo = echo
        self.sequence = 0

    def event(self, type_: str, **fields: Any) -> bytes:
        data = {"type": type_, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return b"event: " + type_.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"

    def opening(self, response: Response) -> list[bytes]:
        body = response_object(response, self.echo)
        where = {"item_id": response.item_id, "output_index": 0, "content_index": 0}
        return [
            self.event("response.created", response=body),
            self.event("response.in_progress", response=body),
            self.event(
                "response.output_item.added",
                output_index=0,
                item=output_message(response, done=False),
            ),
            self.event("response.content_part.added", **where, part=text_part("")),
        ]

    def delta(self, response: Response, text: str) -> bytes:
        return self.event(
            "response.output_text.delta",
            item_id=response.item_id,
            output_index=0,
            content_index=0,
            delta=text,
            logprobs=[],
        )

    def closing(self, response: Response) -> list[bytes]:
        where = {"item_id": response.item_id, "output_index": 0, "content_index": 0}
        return [
            self.event("response.output_text.done", **where, text=response.text, logprobs=[]),
            self.event("response.content_part.done", **where, part=text_part(response.text)),
            self.event("response.output_item.done", output_index=0, item=output_message(response)),
            self.event("response.completed", response=response_object(response, self.echo)),
        ]

    def failure(self, started: Response | None, error: dict[str, Any]) -> bytes:
        """`error` carries our code (`upstream_timeout`, ...); a failed response's error has
        only the codes OpenAI's type allows, ours leading its message."""
        if started is None:
            return self.event("error", code=error["code"], message=error["message"], param=None)
        code = "rate_limit_exceeded" if error["code"] in LIMITS else "server_error"
        failed = {"code": code, "message": f"{error['code']}: {error['message']}"}
        body = response_object(started, self.echo, status="failed", error=failed)
        return self.event("response.failed", response=body)


def _error(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, DomainError):
        return {"code": kind_of(exc).code or exc.code, "message": exc.detail}
    log.exception("response stream failed")
    return INTERNAL


async def events(stream: AsyncIterator[Response | ChatDelta], echo: Echo) -> AsyncIterator[bytes]:
    writer = EventWriter(echo)
    started: Response | None = None
    try:
        async for part in stream:
            if isinstance(part, ChatDelta):
                assert started is not None
                yield writer.delta(started, part.content)
            elif part.status == "in_progress":
                started = part
                for frame in writer.opening(part):
                    yield frame
            else:
                for frame in writer.closing(part):
                    yield frame
    except Exception as exc:  # the status line is sent: the failure is reported in-band
        yield writer.failure(started, _error(exc))
