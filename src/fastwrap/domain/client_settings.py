"""A tenant's own settings (SPEC §13): the browser origins it allows, and its end users' daily
token budget (read by the budget checks; stored and validated here).

They live on the client row, which every request looks up anyway (and the lookup cache serves),
so CORS and budget checks read them at no extra cost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from fastwrap.domain.errors import Invalid, NotFound
from fastwrap.domain.model import Client
from fastwrap.domain.updates import KEEP, ClientUpdate, Keep
from fastwrap.ports.clock import Clock
from fastwrap.ports.repositories import ClientReader, ClientRepository

MAX_ORIGINS = 50
MAX_DAILY_TOKENS = 10**12
# scheme://host[:port] and nothing else: no path, query, fragment, user info or wildcard.
_ORIGIN_RE = re.compile(
    r"^(https?)://"
    r"((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
    r"|\[[0-9a-f:.]{2,45}\])"
    r"(?::([0-9]{1,5}))?$"
)
DEFAULT_PORTS = {"http": "80", "https": "443"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientSettings:
    allowed_origins: tuple[str, ...]
    end_user_daily_tokens: int | None

    @classmethod
    def of(cls, client: Client) -> ClientSettings:
        return cls(
            allowed_origins=client.allowed_origins,
            end_user_daily_tokens=client.end_user_daily_tokens,
        )


def normalise_origin(origin: str) -> str:
    """An exact origin as a browser sends it in `Origin` (lower case, no default port), or
    Invalid."""
    match = _ORIGIN_RE.fullmatch(origin.strip().lower()) if len(origin) <= 300 else None
    if match is None or origin != origin.strip():
        raise Invalid(
            f"{origin[:80]!r} is not an origin: scheme://host[:port] with http or https, "
            "no path, no wildcard"
        )
    scheme, host, port = match[1], match[2], match[3]
    if port is not None and not 1 <= int(port) <= 65535:
        raise Invalid(f"{origin!r}: port must be 1-65535")
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{int(port)}"


def check_origins(origins: Sequence[str]) -> tuple[str, ...]:
    if len(origins) > MAX_ORIGINS:
        raise Invalid(f"allowed_origins holds at most {MAX_ORIGINS} origins")
    return tuple(dict.fromkeys(normalise_origin(o) for o in origins))


def check_daily_tokens(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= MAX_DAILY_TOKENS:
        raise Invalid(f"end_user_daily_tokens must be 0-{MAX_DAILY_TOKENS} or null")
    return value


class ClientSettingsService:
    def __init__(self, *, writer: ClientRepository, reader: ClientReader, clock: Clock) -> None:
        self._writer = writer
        self._reader = reader
        self._clock = clock

    async def origin_allowed(self, origin: str) -> bool:
        """Whether any live tenant allows this browser origin (what a CORS preflight, which
        carries no key, can be answered on)."""
        try:
            wanted = normalise_origin(origin)
        except Invalid:
            return False
        return wanted == origin and await self._reader.any_allows_origin(origin)

    async def update(
        self,
        client_id: UUID,
        *,
        allowed_origins: Sequence[str] | Keep = KEEP,
        end_user_daily_tokens: int | Keep | None = KEEP,
    ) -> ClientSettings:
        """Change the settings given (KEEP leaves one as it is); every replica sees the change
        when this returns."""
        change = ClientUpdate(
            updated_at=self._clock.now(),
            allowed_origins=KEEP if allowed_origins is KEEP else check_origins(allowed_origins),
            end_user_daily_tokens=(
                KEEP if end_user_daily_tokens is KEEP else check_daily_tokens(end_user_daily_tokens)
            ),
        )
        updated = await self._writer.update(client_id, change)
        if updated is None:
            raise NotFound("client not found")
        return ClientSettings.of(updated)
