"""Who calls a `/v1` route: the key of `Authorization: Bearer` (or `x-api-key`), resolved once
per request (principal.py), checked against the route's scopes (SPEC §13), in one dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPBearer

from fastwrap.container import Services
from fastwrap.domain.errors import DomainError, Forbidden, NotFound, Unauthorized
from fastwrap.domain.keys import TOKEN_ONLY, MissingScope, Scope
from fastwrap.entrypoints.http.deps import Caller
from fastwrap.entrypoints.http.principal import resolve


class OpenAIKey(HTTPBearer):
    """The bearer scheme (documented in OpenAPI), resolved to the caller.

    The key needs one of `scopes`; an end-user token passes only where `end_users` is set (the
    turns, which then run as that token's end user: `caller.principal.chat_as(...)`).
    """

    def __init__(self, *scopes: Scope, end_users: bool = False) -> None:
        super().__init__(
            auto_error=False,
            scheme_name="OpenAIBearer",
            description="Your API key, as `Authorization: Bearer <key>` (or `x-api-key`)",
        )
        self.scopes = scopes
        self.end_users = end_users

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        services: Services = request.app.state.services
        found = await resolve(request.scope, services)
        if found is None:
            raise Unauthorized("no API key: send `Authorization: Bearer <key>`")
        if isinstance(found, DomainError):
            raise found
        if found.token is not None:
            if not self.end_users:
                raise Forbidden(TOKEN_ONLY)
        elif not found.scopes.intersection(self.scopes):
            raise MissingScope(self.scopes[0])
        return Caller(found.client, services, found)


# One instance per route group, so an embedding app can override each (dependency_overrides).
chat_caller = OpenAIKey("chat", end_users=True)
read_caller = OpenAIKey("read", "chat")
# Reads of responses and conversations: an end-user token sees its own end user's (the routes
# pass `principal.end_user` and check `principal.may_see`).
view_caller = OpenAIKey("read", "chat", end_users=True)

ChatCallerDep = Annotated[Caller, Security(chat_caller)]
ReadCallerDep = Annotated[Caller, Security(read_caller)]
ViewCallerDep = Annotated[Caller, Security(view_caller)]


def visible(caller: Caller, conversation_id: str | None) -> str | None:
    """The end user whose conversations `caller` may see (None: the tenant sees them all);
    NotFound, as for another tenant's, when an end-user token is bound to another one."""
    principal = caller.principal
    if conversation_id is not None and not principal.may_see(conversation_id):
        raise NotFound("conversation not found or expired")
    return principal.end_user
