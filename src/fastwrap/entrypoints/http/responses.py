"""Building the `{"message", "data"}` envelope."""

from __future__ import annotations

from fastwrap.domain.clients import IssuedKey
from fastwrap.entrypoints.http.schemas import ClientOut, ClientWithKey, Envelope


def ok[T](message: str, data: T) -> Envelope[T]:
    return Envelope(message=message, data=data)


def issued(result: IssuedKey) -> ClientWithKey:
    return ClientWithKey(**ClientOut.of(result.client).model_dump(), api_key=result.api_key)
