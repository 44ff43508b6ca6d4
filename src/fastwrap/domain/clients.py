"""Use cases for tenants: sign-up, log-in, key authentication, self-service and admin."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from uuid import UUID, uuid4

from fastwrap.domain.emails import normalise_email
from fastwrap.domain.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Unauthorized,
    Unavailable,
)
from fastwrap.domain.model import Client, Page
from fastwrap.domain.pagination import Cursor, check_limit, page_of
from fastwrap.domain.password_policy import check_password
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import ConversationStore
from fastwrap.ports.repositories import ClientReader, ClientRepository
from fastwrap.ports.security import ApiKeys, PasswordHasher

BAD_LOGIN = "email or password is incorrect"
log = logging.getLogger("fastwrap.clients")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A client with its freshly issued API key, which is shown this once and never stored."""

    client: Client
    api_key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientChanges:
    """An admin's partial update; None means unchanged."""

    email: str | None = None
    password: str | None = None
    is_active: bool | None = None
    is_admin: bool | None = None


class ClientService:
    def __init__(
        self,
        *,
        writer: ClientRepository,
        reader: ClientReader,
        conversations: ConversationStore,
        hasher: PasswordHasher,
        keys: ApiKeys,
        clock: Clock,
    ) -> None:
        self._writer = writer
        self._reader = reader
        self._conversations = conversations
        self._hasher = hasher
        self._keys = keys
        self._clock = clock
        self._dummy_hash: str | None = None

    async def _new_client(self, email: str, password: str, *, is_admin: bool) -> IssuedKey:
        email = normalise_email(email)
        check_password(password)
        key = self._keys.generate()
        now = self._clock.now()
        client = Client(
            id=uuid4(),
            email=email,
            password_hash=await self._hasher.hash(password),
            key_digest=self._keys.digest(key),
            is_admin=is_admin,
            created_at=now,
            updated_at=now,
        )
        return IssuedKey(client, key)

    async def sign_up(self, email: str, password: str) -> IssuedKey:
        issued = await self._new_client(email, password, is_admin=False)
        await self._writer.add(issued.client)
        return issued

    async def bootstrap_admin(self, email: str, password: str) -> IssuedKey:
        issued = await self._new_client(email, password, is_admin=True)
        await self._writer.add_first_admin(issued.client)
        return issued

    async def log_in(self, email: str, password: str) -> IssuedKey:
        """A fresh key for valid credentials; the old key dies. Failures all look the same."""
        try:
            normalised = normalise_email(email)
        except Invalid:
            normalised = None
        client = await self._reader.get_by_email(normalised) if normalised else None
        if client is None or not client.is_active:
            # Spend the same bcrypt time as a real check so timing does not reveal the email.
            await self._hasher.verify(password, await self._dummy())
            raise Unauthorized(BAD_LOGIN)
        if not await self._hasher.verify(password, client.password_hash):
            raise Unauthorized(BAD_LOGIN)
        return await self._rotate(client)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self._hasher.hash("Dummy-password-1")
        return self._dummy_hash

    async def authenticate(self, api_key: str) -> Client:
        client = await self._reader.get_by_key_digest(self._keys.digest(api_key))
        if client is None or not client.is_active:
            raise Unauthorized("API key is missing, unknown or revoked")
        return client

    async def regenerate_key(self, client: Client) -> IssuedKey:
        return await self._rotate(client)

    async def _rotate(self, client: Client) -> IssuedKey:
        key = self._keys.generate()
        updated = replace(client, key_digest=self._keys.digest(key), updated_at=self._clock.now())
        await self._writer.update(updated)
        return IssuedKey(updated, key)

    async def change_own(
        self, client: Client, current_password: str, *, email: str | None, password: str | None
    ) -> Client:
        """Change exactly one of email or password, proven by the current password."""
        if (email is None) == (password is None):
            raise Invalid("send exactly one of email or password")
        if not await self._hasher.verify(current_password, client.password_hash):
            raise Unauthorized("current_password is incorrect")
        return await self._apply(client, ClientChanges(email=email, password=password))

    async def _apply(self, client: Client, changes: ClientChanges) -> Client:
        updated = replace(client, updated_at=self._clock.now())
        if changes.email is not None:
            updated = replace(updated, email=normalise_email(changes.email))
        if changes.password is not None:
            check_password(changes.password)
            updated = replace(updated, password_hash=await self._hasher.hash(changes.password))
        if changes.is_active is not None:
            updated = replace(updated, is_active=changes.is_active)
        if changes.is_admin is not None:
            updated = replace(updated, is_admin=changes.is_admin)
        await self._writer.update(updated)
        return updated

    async def delete(self, client_id: UUID) -> None:
        """Soft-delete a client with its characters and snippets, and drop its conversations."""
        if not await self._writer.delete(client_id, self._clock.now()):
            raise NotFound("client not found")
        try:
            await self._conversations.delete_all(client_id)
        except Unavailable as exc:
            # The deletion is committed and the key is dead, so no one can reach those
            # conversations; they expire by TTL. Answering 503 here would tell a lie.
            log.warning("client %s deleted; its conversations expire by TTL (%s)", client_id, exc)

    # --- admin -----------------------------------------------------------------------------

    async def create(self, email: str, password: str, *, is_admin: bool = False) -> IssuedKey:
        issued = await self._new_client(email, password, is_admin=is_admin)
        await self._writer.add(issued.client)
        return issued

    async def get(self, client_id: UUID) -> Client:
        client = await self._reader.get(client_id)
        if client is None:
            raise NotFound("client not found")
        return client

    async def find_by_email(self, email: str) -> Client:
        client = await self._reader.get_by_email(normalise_email(email))
        if client is None:
            raise NotFound("client not found")
        return client

    async def set_active(self, client_id: UUID, active: bool) -> Client:
        """An operator's switch (the CLI); admins over HTTP go through update()."""
        return await self._apply(await self.get(client_id), ClientChanges(is_active=active))

    async def list(self, cursor: str | None, limit: int) -> Page[Client]:
        check_limit(limit)
        after = Cursor.decode(cursor) if cursor else None
        rows = await self._reader.list_page(after, limit + 1)
        return page_of(rows, limit, lambda c: Cursor(c.created_at, c.id))

    async def update(self, actor: Client, client_id: UUID, changes: ClientChanges) -> Client:
        if actor.id == client_id and (changes.is_active is False or changes.is_admin is False):
            raise Conflict("an admin cannot deactivate or demote itself")
        return await self._apply(await self.get(client_id), changes)

    async def admin_delete(self, actor: Client, client_id: UUID) -> None:
        if actor.id == client_id:
            raise Conflict("an admin cannot delete itself")
        await self.delete(client_id)


def require_admin(client: Client) -> Client:
    if not client.is_admin:
        raise Forbidden("this route is for admins only")
    return client
