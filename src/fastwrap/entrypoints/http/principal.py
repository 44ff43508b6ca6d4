"""Who is calling: the one place a request's key or end-user token becomes a Principal.

The credential is `x-api-key`, or `Authorization: Bearer ...` (what OpenAI clients send). It is
resolved at most once per request, by whichever comes first of the CORS check, the rate limiter
and the route's dependency, and kept in the request's state (`request.state.principal`): the
Principal, the DomainError that refused the credential, or None when none was sent.
"""

from __future__ import annotations

from starlette.types import Scope

from fastwrap.container import Services
from fastwrap.domain.errors import DomainError
from fastwrap.domain.keys import Principal

PRINCIPAL = "principal"
_BEARER = b"bearer "

type Resolved = Principal | DomainError | None


def credential(scope: Scope) -> str | None:
    """The key or token the request carries, if any (`x-api-key` wins over a bearer token)."""
    bearer: str | None = None
    for name, value in scope.get("headers", ()):
        if name == b"x-api-key":
            return bytes(value).decode("latin-1")  # as Starlette's Headers decode it
        if name == b"authorization" and value[:7].lower() == _BEARER:
            bearer = bytes(value[7:]).decode("latin-1").strip()
    return bearer or None


async def resolve(scope: Scope, services: Services) -> Resolved:
    state = scope.setdefault("state", {})
    if PRINCIPAL in state:
        found: Resolved = state[PRINCIPAL]
        return found
    raw = credential(scope)
    resolved: Resolved = None
    if raw:
        try:
            resolved = await services.access.authenticate(raw)
        except DomainError as exc:  # unknown or revoked (401), or the database down (503)
            resolved = exc
        else:
            state["client_id"] = str(resolved.client.id)  # for the access log
    state[PRINCIPAL] = resolved
    return resolved
