"""Password hashing and API-key handling."""

from __future__ import annotations

from typing import Protocol


class PasswordHasher(Protocol):
    """Slow, salted hashing; implementations keep the work off the event loop."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, hashed: str) -> bool: ...


class ApiKeys(Protocol):
    """API keys are random, shown once, and stored only as a digest that is looked up directly."""

    def generate(self) -> str:
        """A new API key (`fw_...`)."""

    def generate_token(self) -> str:
        """A new end-user token (`fwu_...`)."""

    def digest(self, key: str) -> str: ...
