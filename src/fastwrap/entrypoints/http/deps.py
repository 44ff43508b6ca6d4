"""FastAPI dependencies: the process's services, the caller's client, admin and service keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from fastwrap.container import Services
from fastwrap.domain.clients import require_admin
from fastwrap.domain.errors import DomainError, Unauthorized
from fastwrap.domain.keys import Principal, Scope
from fastwrap.domain.model import Client
from fastwrap.entrypoints.http.principal import resolve

service_key_header = APIKeyHeader(
    name="x-fastwrap-api-key", auto_error=False, description="The service secret"
)


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling (their client, and the key or token as a Principal) and the process's
    services: what a tenant route needs."""

    client: Client
    services: Services
    principal: Principal


class Requires(APIKeyHeader):
    """The `x-api-key` scheme (or a bearer token), resolved to the caller and checked against
    one scope, in one dependency: `requires("chat")`.

    Being the security scheme itself keeps the key documented in OpenAPI, while FastAPI solves
    one dependency per request where it solved one each for the scheme, the lookup and the
    services: on a request that does little else, that machinery was a quarter of the CPU.
    """

    def __init__(self, scope: Scope | None, *, end_users: bool) -> None:
        super().__init__(
            name="x-api-key",
            auto_error=False,
            description="Your API key (or an end-user token where the route serves end users)",
            scheme_name="APIKeyHeader",
        )
        self.scope = scope
        self.end_users = end_users

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        services: Services = request.app.state.services
        found = await resolve(request.scope, services)
        if found is None:
            raise Unauthorized("x-api-key header is missing")
        if isinstance(found, DomainError):
            raise found
        if self.scope is not None:
            found.require(self.scope, end_users=self.end_users)
        elif found.token is not None:
            found.require("account")  # no scope named: keys only
        return Caller(found.client, services, found)


def requires(scope: Scope | None, *, end_users: bool = False) -> Requires:
    """A dependency giving the Caller, refusing (403, naming it) a key without `scope`; an
    end-user token passes only where `end_users` is set (chat and its conversations), and
    there the route must bind the turn with `caller.principal.chat_as(...)`."""
    return Requires(scope, end_users=end_users)


# Any key, whatever its scopes (end-user tokens refused): for routes with a rule of their own.
current_caller = requires(None)
# One instance per scope, so an embedding app can override each (app.dependency_overrides).
chat_caller = requires("chat", end_users=True)
chat_key_caller = requires("chat")
read_caller = requires("read")
write_caller = requires("write")
account_caller = requires("account")


async def admin_caller(caller: Annotated[Caller, Security(account_caller)]) -> Caller:
    require_admin(caller.client)
    return caller


def service_key(
    services: ServicesDep,
    key: Annotated[str | None, Security(service_key_header)],
) -> None:
    services.internal_key.check(key)


CallerDep = Annotated[Caller, Security(current_caller)]
ChatCaller = Annotated[Caller, Security(chat_caller)]
ChatKeyCaller = Annotated[Caller, Security(chat_key_caller)]
ReadCaller = Annotated[Caller, Security(read_caller)]
WriteCaller = Annotated[Caller, Security(write_caller)]
AccountCaller = Annotated[Caller, Security(account_caller)]
AdminDep = Annotated[Caller, Depends(admin_caller)]
