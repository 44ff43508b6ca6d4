"""bcrypt for passwords (in a worker thread, off the event loop) and SHA-256 key digests."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

import bcrypt

from fastwrap.domain.keys import KEY_PREFIX, TOKEN_PREFIX
from fastwrap.ports.security import ApiKeys, PasswordHasher


class BcryptPasswordHasher(PasswordHasher):
    def __init__(self, rounds: int = 12) -> None:
        self._rounds = rounds

    async def hash(self, password: str) -> str:
        salt = bcrypt.gensalt(self._rounds)
        hashed = await asyncio.to_thread(bcrypt.hashpw, password.encode(), salt)
        return hashed.decode()

    async def verify(self, password: str, hashed: str) -> bool:
        encoded = password.encode()
        if len(encoded) > 72:  # bcrypt 5 refuses these; the policy never lets one be stored
            return False
        return await asyncio.to_thread(bcrypt.checkpw, encoded, hashed.encode())


class Sha256ApiKeys(ApiKeys):
    """`fw_` + 43 url-safe characters (256 random bits); stored only as a SHA-256 hex digest.

    A plain digest is enough: the key has 256 bits of entropy, so no salt or slow hash is needed,
    and lookup by digest makes authentication a single indexed read.
    """

    def generate(self) -> str:
        return KEY_PREFIX + secrets.token_urlsafe(32)

    def generate_token(self) -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)

    def digest(self, key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()
