"""Rows the store contracts need before they can test anything else."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from fastwrap.adapters.bundles import Storage
from fastwrap.domain.model import Client


async def add_client(storage: Storage, at: datetime) -> UUID:
    """A live client (characters and snippets need one: both stores enforce the reference)."""
    ident = uuid4()
    await storage.clients.add(
        Client(
            id=ident,
            email=f"{ident.hex[:12]}@example.com",
            password_hash="$2b$04$hash",
            key_digest=ident.hex * 2,
            created_at=at,
            updated_at=at,
        )
    )
    return ident
