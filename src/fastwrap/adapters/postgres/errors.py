"""Database errors become domain errors here, at the adapter boundary.

A unique or foreign-key violation is recognised by its constraint name (the names are fixed by
the migrations), and every way of losing the database becomes Unavailable, which is a 503.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from fastwrap.domain.errors import Conflict, DomainError, Invalid, NotFound, Unavailable

UNIQUE_VIOLATIONS = {
    "clients_pkey": "client already exists",
    "clients_email_live_key": "email is already registered",
    "clients_key_digest_key": "API key is already in use",
    "characters_pkey": "character already exists",
    "embeddings_pkey": "snippet already exists",
    "embeddings_entity_live_key": "snippet already exists",
}
FOREIGN_KEY_VIOLATIONS = {
    "characters_client_fkey": "client not found",
    "embeddings_client_fkey": "client not found",
}
DUPLICATE_IN_BATCH = "an entity appears twice in one batch"

# asyncpg says "the pool/connection is gone" with InterfaceError, which it also uses for misuse;
# only the former is the database being unavailable, the rest are bugs and stay 500s.
_GONE = ("pool is closed", "pool is closing", "connection is closed", "pool is not initialized")
_UNAVAILABLE = (
    OSError,  # refused, reset, no such socket
    TimeoutError,  # connect, acquire or command timeout
    asyncpg.PostgresConnectionError,
    asyncpg.TooManyConnectionsError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.QueryCanceledError,  # statement_timeout
)


def unavailable(exc: BaseException) -> Unavailable:
    reason = str(exc).strip() or type(exc).__name__
    return Unavailable(f"database unavailable: {reason}")


def as_domain_error(exc: Exception) -> DomainError | None:
    """The domain error for a database error, or None when it is a bug to let through."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        return Conflict(UNIQUE_VIOLATIONS.get(exc.constraint_name or "", "already exists"))
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return NotFound(FOREIGN_KEY_VIOLATIONS.get(exc.constraint_name or "", "not found"))
    if isinstance(exc, asyncpg.CardinalityViolationError):
        return Invalid(DUPLICATE_IN_BATCH)
    if isinstance(exc, asyncpg.CheckViolationError | asyncpg.DataError):
        return Invalid(f"rejected by the database: {exc}")
    if isinstance(exc, _UNAVAILABLE):
        return unavailable(exc)
    if isinstance(exc, asyncpg.InterfaceError) and str(exc).startswith(_GONE):
        return unavailable(exc)
    return None


@contextmanager
def translated() -> Iterator[None]:
    """Run database work, re-raising its errors as domain errors (`raise ... from exc`)."""
    try:
        yield
    except DomainError:
        raise
    except Exception as exc:
        error = as_domain_error(exc)
        if error is None:
            raise
        raise error from exc
