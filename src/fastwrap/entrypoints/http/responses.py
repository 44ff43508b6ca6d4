"""Building the `{"message", "data"}` envelope."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel

from fastwrap.domain.clients import IssuedKey
from fastwrap.entrypoints.http.schemas import ClientOut, ClientWithKey, Envelope


def ok[T](message: str, data: T) -> Envelope[T]:
    return Envelope(message=message, data=data)


def json_body(model: BaseModel, status_code: int = 200) -> Response:
    """A response already serialised, for routes on the hot path.

    A route returning a model has FastAPI validate it again against the response model before
    serialising it (a third of a small request's route work); the route's models were
    validated as they were built. Such a route declares `response_model=` for OpenAPI.
    """
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def plain_ok(message: str, data: Any) -> Response:
    """The envelope around plain JSON values (a schema's `plain()`), serialised by orjson.

    For the busiest reads: building and dumping the pydantic models of a page of characters
    cost more than the query that fetched them. Datetimes come out as pydantic writes them
    (UTC as `Z`); each `plain()` is tested to give its model's JSON.
    """
    body = orjson.dumps({"message": message, "data": data}, option=orjson.OPT_UTC_Z)
    return Response(body, media_type="application/json")


def issued(result: IssuedKey) -> ClientWithKey:
    return ClientWithKey(**ClientOut.of(result.client).model_dump(), api_key=result.api_key)
