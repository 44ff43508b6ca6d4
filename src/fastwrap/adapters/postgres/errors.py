"""Database errors become domain errors here, at the adapter boundary.

A unique or foreign-key violation is recognised by its constraint name (the names are fixed by
the migrations), and every way of losing the database becomes Unavailable, which is a 503.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from fastwrap.domain.errors import (
    ConfigurationError,
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    Unavailable,
)

UNIQUE_VIOLATIONS = {
    "clients_pkey": "client already exists",
    "clients_email_live_key": "email is already registered",
    "clients_key_digest_key": "API key is already in use",
    "characters_pkey": "character already exists",
    "embeddings_pkey": "snippet already exists",
    "embeddings_entity_live_key": "snippet already exists",
    "api_keys_pkey": "API key is already in use",
    "api_keys_digest_key": "API key is already in use",
    "end_user_tokens_pkey": "API key is already in use",
    "end_user_tokens_digest_key": "API key is already in use",
}
FOREIGN_KEY_VIOLATIONS = {
    "characters_client_fkey": "client not found",
    "embeddings_client_fkey": "client not found",
    "api_keys_client_fkey": "client not found",
    "end_user_tokens_client_fkey": "client not found",
    "end_user_tokens_character_fkey": "character not found",
    "end_user_tokens_key_fkey": "key not found",
}
DUPLICATE_IN_BATCH = "an entity appears twice in one batch"
log = logging.getLogger("fastwrap.postgres")

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
    # The caller learns that the database is down; the driver's words (which may name hosts
    # and sockets) go to the log only.
    log.warning("database unavailable: %s", str(exc).strip() or type(exc).__name__)
    return Unavailable(f"database unavailable ({type(exc).__name__}); retry later")


def refused(exc: asyncpg.PostgresError) -> Invalid:
    """Input the database refused. The domain checks what it can first, so this is a last line;
    the caller gets our words (naming the constraint, which is ours), the driver's go to the log."""
    log.warning("the database refused a value: %s", str(exc).strip() or type(exc).__name__)
    constraint = getattr(exc, "constraint_name", None)
    if constraint:
        return Invalid(f"a value is outside what the database accepts ({constraint})")
    return Invalid("a value is not something the database can store")


# Refusals at connect time that no retry fixes: the configuration is wrong.
_MISCONFIGURED: dict[type[Exception], str] = {
    asyncpg.InvalidAuthorizationSpecificationError: "the database refused the user or password",
    asyncpg.InvalidPasswordError: "the database refused the user or password",
    asyncpg.InvalidCatalogNameError: "the database does not exist",
}


def misconfigured(exc: Exception) -> ConfigurationError | None:
    """A ConfigurationError naming DATABASE_URL for a connect-time refusal, else None."""
    for cls, reason in _MISCONFIGURED.items():
        if isinstance(exc, cls):
            return ConfigurationError(f"DATABASE_URL (or POSTGRES_*): {reason}")
    if isinstance(exc, asyncpg.FeatureNotSupportedError | asyncpg.UndefinedFileError) or (
        isinstance(exc, asyncpg.PostgresError) and "vector" in str(exc) and "extension" in str(exc)
    ):
        return ConfigurationError(
            "DATABASE_URL: the server has no pgvector extension (use pgvector/pgvector images, "
            "or leave DATABASE_URL unset for the embedded server)"
        )
    return None


def as_domain_error(exc: Exception) -> DomainError | None:
    """The domain error for a database error, or None when it is a bug to let through."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        return Conflict(UNIQUE_VIOLATIONS.get(exc.constraint_name or "", "already exists"))
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return NotFound(FOREIGN_KEY_VIOLATIONS.get(exc.constraint_name or "", "not found"))
    if isinstance(exc, asyncpg.CardinalityViolationError):
        return Invalid(DUPLICATE_IN_BATCH)
    if isinstance(exc, asyncpg.CheckViolationError | asyncpg.DataError):
        return refused(exc)
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
