"""In-memory named keys and end-user tokens, over the state the other in-memory stores share
(so a deleted tenant's or character's credentials die as the PostgreSQL joins make them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from fastwrap.adapters.memory.clients import MemoryState, Record, check_storable
from fastwrap.domain.errors import Conflict, NotFound
from fastwrap.domain.key_usage import COALESCE
from fastwrap.domain.keys import ApiKey, EndUserToken, KeyGrant, TokenGrant
from fastwrap.domain.model import Client
from fastwrap.ports.keys import EndUserTokenStore, KeyStore

KEY_TAKEN = "API key is already in use"
CLIENT_NOT_FOUND = "client not found"


def _live_client(state: MemoryState, client_id: UUID) -> Client | None:
    record = state.clients.get(client_id)
    return record.value if record is not None and record.deleted_at is None else None


class InMemoryKeyStore(KeyStore):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, key: ApiKey) -> None:
        check_storable(key.name, key.prefix, key.digest)
        if key.client_id not in self._state.clients:
            raise NotFound(CLIENT_NOT_FOUND)
        if key.id in self._state.keys or any(
            r.value.digest == key.digest for r in self._state.keys.values()
        ):
            raise Conflict(KEY_TAKEN)
        self._state.keys[key.id] = Record(key)

    async def list(self, client_id: UUID) -> list[ApiKey]:
        keys = [
            r.value
            for r in self._state.keys.values()
            if r.value.client_id == client_id and r.deleted_at is None
        ]
        return sorted(keys, key=lambda k: (k.created_at, k.id))

    async def revoke(self, client_id: UUID, key_id: UUID, at: datetime) -> bool:
        record = self._state.keys.get(key_id)
        if record is None or record.value.client_id != client_id or record.deleted_at is not None:
            return False
        record.deleted_at = at
        record.value = replace(record.value, revoked_at=at)
        return True

    async def find(self, digest: str) -> KeyGrant | None:
        for record in self._state.clients.values():
            if record.deleted_at is None and record.value.key_digest == digest:
                return KeyGrant(client=record.value, key=None)
        for key in self._state.keys.values():
            if key.deleted_at is None and key.value.digest == digest:
                client = _live_client(self._state, key.value.client_id)
                return KeyGrant(client=client, key=key.value) if client is not None else None
        return None

    async def touch(self, used: Mapping[UUID, datetime]) -> None:
        for key_id, at in used.items():
            record = self._state.keys.get(key_id)
            if record is None:
                continue
            last = record.value.last_used_at
            if last is None or at - last >= COALESCE:
                record.value = replace(record.value, last_used_at=at)


class InMemoryEndUserTokenStore(EndUserTokenStore):
    def __init__(self, state: MemoryState) -> None:
        self._state = state

    async def add(self, token: EndUserToken) -> None:
        check_storable(token.end_user, token.conversation_id)
        if token.client_id not in self._state.clients:
            raise NotFound(CLIENT_NOT_FOUND)
        if token.digest in self._state.tokens:
            raise Conflict(KEY_TAKEN)
        self._state.tokens[token.digest] = Record(token)

    async def find(self, digest: str) -> TokenGrant | None:
        record = self._state.tokens.get(digest)
        if record is None or record.deleted_at is not None:
            return None
        token = record.value
        client = _live_client(self._state, token.client_id)
        character = self._state.characters.get(token.character_id)
        if client is None or character is None or character.deleted_at is not None:
            return None
        if token.key_id is None:
            issuer_lives = client.key_digest == token.issuer_digest
        else:
            key = self._state.keys.get(token.key_id)
            issuer_lives = key is not None and key.deleted_at is None
        return TokenGrant(client=client, token=token) if issuer_lives else None
