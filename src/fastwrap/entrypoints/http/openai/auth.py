"""Who calls a `/v1` route: the key of `Authorization: Bearer` (or `x-api-key`), in one
dependency per scope, resolved with the lookup the rate limiter already made."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPBearer

from fastwrap.container import Services
from fastwrap.domain.errors import DomainError, Unauthorized
from fastwrap.entrypoints.http.deps import Caller
from fastwrap.entrypoints.http.rate_limit import authenticated, request_key


class OpenAIKey(HTTPBearer):
    """The bearer scheme (documented in OpenAPI), resolved to the caller.

    `scopes` are the key scopes (SPEC §13) of which the route needs one; they are checked here,
    the one place every `/v1` route authenticates.
    """

    def __init__(self, *scopes: str) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="OpenAIBearer",
            description="Your API key, as `Authorization: Bearer <key>` (or `x-api-key`)",
        )
        self.scopes = scopes

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        api_key = request_key(request.scope)
        if not api_key:
            raise Unauthorized("no API key: send `Authorization: Bearer <key>`")
        services: Services = request.app.state.services
        found = authenticated(request.scope)  # the rate limiter resolved the key already
        if isinstance(found, DomainError):
            raise found
        client = found or await services.clients.authenticate(api_key)
        request.state.client_id = str(client.id)
        return Caller(client, services)


chat_caller = OpenAIKey("chat")
read_caller = OpenAIKey("read", "chat")

ChatCallerDep = Annotated[Caller, Security(chat_caller)]
ReadCallerDep = Annotated[Caller, Security(read_caller)]
