"""Use cases for tenants: sign-up, log-in, key authentication, self-service and admin."""

from __future__ import annotations

import logging
from dataclasses import dataclass
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
from fastwrap.domain.storable import check_text
from fastwrap.domain.updates import KEEP, ClientCondition, ClientUpdate, Keep
from fastwrap.ports.clock import Clock
from fastwrap.ports.conversations import ConversationStore
from fastwrap.ports.repositories import ClientReader, ClientRepository
from fastwrap.ports.security import ApiKeys, PasswordHasher

BAD_LOGIN = "email or password is incorrect"
REVOKED = "API key is missing, unknown or revoked"
WRONG_CURRENT = "current_password is incorrect"
PROFILE_LIMITS = {"subscription": 64, "store_name": 200, "phone": 32}
MAX_TOKEN_BUDGET = 10**15
log = logging.getLogger("fastwrap.clients")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A client with its freshly issued API key, which is shown this once and never stored."""

    client: Client
    api_key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientProfile:
    """The original FastWrap's optional fields, which admins set."""

    subscription: str | None = None
    store_name: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientChanges:
    """An admin's partial update. None leaves email, password and the flags unchanged; the
    profile fields take KEEP for unchanged and None to clear them."""

    email: str | None = None
    password: str | None = None
    is_active: bool | None = None
    is_admin: bool | None = None
    subscription: str | Keep | None = KEEP
    store_name: str | Keep | None = KEEP
    phone: str | Keep | None = KEEP
    token_budget_daily: int | Keep | None = KEEP
    token_budget_monthly: int | Keep | None = KEEP


def check_budget(name: str, value: int | Keep | None) -> None:
    if isinstance(value, int) and not 1 <= value <= MAX_TOKEN_BUDGET:
        raise Invalid(f"{name} must be between 1 and {MAX_TOKEN_BUDGET} tokens (or null)")


def check_profile_field(name: str, value: str | Keep | None) -> None:
    if value is KEEP or value is None:
        return
    limit = PROFILE_LIMITS[name]
    if not 1 <= len(value) <= limit:
        raise Invalid(f"{name} must be 1-{limit} characters (or null)")
    check_text(name, value)


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

    async def _new_client(
        self, email: str, password: str, *, is_admin: bool, profile: ClientProfile | None = None
    ) -> IssuedKey:
        email = normalise_email(email)
        check_password(password)
        profile = profile or ClientProfile()
        for name in PROFILE_LIMITS:
            check_profile_field(name, getattr(profile, name))
        key = self._keys.generate()
        now = self._clock.now()
        client = Client(
            id=uuid4(),
            email=email,
            password_hash=await self._hasher.hash(password),
            key_digest=self._keys.digest(key),
            is_admin=is_admin,
            subscription=profile.subscription,
            store_name=profile.store_name,
            phone=profile.phone,
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
        return await self._issue_for_login(client)

    async def _issue_for_login(self, client: Client) -> IssuedKey:
        # Only if the password just verified is still the password and the account is still
        # active: a password change or a deactivation that committed while bcrypt ran wins.
        proved = ClientCondition(password_hash=client.password_hash, is_active=True)
        issued = await self._rotate(client.id, proved)
        if issued is None:
            raise Unauthorized(BAD_LOGIN)
        return issued

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self._hasher.hash("Dummy-password-1")
        return self._dummy_hash

    async def authenticate(self, api_key: str) -> Client:
        client = await self._reader.get_by_key_digest(self._keys.digest(api_key))
        if client is None or not client.is_active:
            raise Unauthorized(REVOKED)
        return client

    async def regenerate_key(self, client: Client) -> IssuedKey:
        """A new key in place of `client.key_digest`, which must still be the client's key.

        Of concurrent rotations from one key, exactly one replaces it; the others find their
        key revoked and fail (Unauthorized), as a request sent after the rotation would. So
        every key handed out works until a later rotation replaces it.
        """
        issued = await self._rotate(client.id, self._authorised_by(client))
        if issued is None:
            raise Unauthorized(REVOKED)
        return issued

    @staticmethod
    def _authorised_by(client: Client) -> ClientCondition:
        """The row must still hold the key that authorised the request, and the state the
        caller saw (active for an API caller; an operator may rotate a deactivated client's
        key, unless it was reactivated meanwhile)."""
        return ClientCondition(key_digest=client.key_digest, is_active=client.is_active)

    async def _rotate(self, client_id: UUID, condition: ClientCondition) -> IssuedKey | None:
        key = self._keys.generate()
        change = ClientUpdate(key_digest=self._keys.digest(key), updated_at=self._clock.now())
        updated = await self._writer.update(client_id, change, condition)
        return IssuedKey(updated, key) if updated is not None else None

    async def change_own(
        self, client: Client, current_password: str, *, email: str | None, password: str | None
    ) -> Client:
        """Change exactly one of email or password, proven by the current password.

        The change applies only while the password proved and the key that made the request
        are still current: a concurrent password change or key rotation wins (Unauthorized).
        """
        if (email is None) == (password is None):
            raise Invalid("send exactly one of email or password")
        new_email = normalise_email(email) if email is not None else KEEP
        if password is not None:
            check_password(password)
        if not await self._hasher.verify(current_password, client.password_hash):
            raise Unauthorized(WRONG_CURRENT)
        change = ClientUpdate(
            email=new_email,
            password_hash=await self._hasher.hash(password) if password is not None else KEEP,
            updated_at=self._clock.now(),
        )
        proved = ClientCondition(
            key_digest=client.key_digest, password_hash=client.password_hash, is_active=True
        )
        updated = await self._writer.update(client.id, change, proved)
        if updated is None:
            raise await self._why_refused(client)
        return updated

    async def _why_refused(self, client: Client) -> Unauthorized:
        now = await self._reader.get(client.id)
        if now is None or not now.is_active or now.key_digest != client.key_digest:
            return Unauthorized(REVOKED)
        return Unauthorized(WRONG_CURRENT)

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

    async def create(
        self,
        email: str,
        password: str,
        *,
        is_admin: bool = False,
        profile: ClientProfile | None = None,
    ) -> IssuedKey:
        issued = await self._new_client(email, password, is_admin=is_admin, profile=profile)
        await self._writer.add(issued.client)
        return issued

    async def get(self, client_id: UUID, *, include_deleted: bool = False) -> Client:
        client = await self._reader.get(client_id, include_deleted=include_deleted)
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
        return await self._apply(client_id, ClientChanges(is_active=active))

    async def list(
        self, cursor: str | None, limit: int, *, include_deleted: bool = False
    ) -> Page[Client]:
        check_limit(limit)
        after = Cursor.decode(cursor) if cursor else None
        rows = await self._reader.list_page(after, limit + 1, include_deleted=include_deleted)
        return page_of(rows, limit, lambda c: Cursor(c.created_at, c.id))

    async def update(self, actor: Client, client_id: UUID, changes: ClientChanges) -> Client:
        if actor.id == client_id and (changes.is_active is False or changes.is_admin is False):
            raise Conflict("an admin cannot deactivate or demote itself")
        return await self._apply(client_id, changes)

    async def set_budgets(
        self,
        client_id: UUID,
        *,
        daily: int | Keep | None = KEEP,
        monthly: int | Keep | None = KEEP,
    ) -> Client:
        """An operator's change of a client's token budgets (None removes one)."""
        return await self._apply(
            client_id, ClientChanges(token_budget_daily=daily, token_budget_monthly=monthly)
        )

    async def _apply(self, client_id: UUID, changes: ClientChanges) -> Client:
        """Each field an independent write: a concurrent login or rotation keeps its key, and
        this keeps its change (a login that verified a password replaced here fails)."""
        c = changes
        for name in PROFILE_LIMITS:
            check_profile_field(name, getattr(c, name))
        check_budget("token_budget_daily", c.token_budget_daily)
        check_budget("token_budget_monthly", c.token_budget_monthly)
        if c.password is not None:
            check_password(c.password)
        change = ClientUpdate(
            email=normalise_email(c.email) if c.email is not None else KEEP,
            password_hash=await self._hasher.hash(c.password) if c.password is not None else KEEP,
            is_active=KEEP if c.is_active is None else c.is_active,
            is_admin=KEEP if c.is_admin is None else c.is_admin,
            subscription=c.subscription,
            store_name=c.store_name,
            phone=c.phone,
            token_budget_daily=c.token_budget_daily,
            token_budget_monthly=c.token_budget_monthly,
            updated_at=self._clock.now(),
        )
        updated = await self._writer.update(client_id, change)
        if updated is None:
            raise NotFound("client not found")
        return updated

    async def admin_delete(self, actor: Client, client_id: UUID) -> None:
        if actor.id == client_id:
            raise Conflict("an admin cannot delete itself")
        await self.delete(client_id)


def require_admin(client: Client) -> Client:
    if not client.is_admin:
        raise Forbidden("this route is for admins only")
    return client
