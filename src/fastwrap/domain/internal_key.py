"""The service secret (FASTWRAP_API_KEY) that guards the `/internal/*` routes."""

from __future__ import annotations

import hmac

from fastwrap.domain.errors import Forbidden, Unauthorized


class InternalKey:
    """Checks a presented service secret; with none configured the internal routes are off."""

    def __init__(self, secret: str | None) -> None:
        self._expected = secret.encode() if secret is not None else None

    def check(self, presented: str | None) -> None:
        if self._expected is None:
            raise Forbidden("internal routes are disabled (FASTWRAP_API_KEY is not set)")
        # Constant time, so the comparison does not reveal how much of a guess was right.
        if not presented or not hmac.compare_digest(presented.encode(), self._expected):
            raise Unauthorized("x-fastwrap-api-key is missing or wrong")
