"""The client account as a state machine (hypothesis): whatever happens, in whatever order,
exactly the latest key works and exactly the latest password logs in.

Steps are the account's use cases (sign up, log in, rotate, change password or email,
deactivate, delete), some of them racing another one: a login or a password change held after
bcrypt ran (tests/support/pauses.py) while the other commits, and two rotations from one key.
The model says what must come of each; after every step the invariant checks every key and
every password the account ever had. It runs over the memory adapters here, and over
PostgreSQL behind the lookup caches in tests/integration/test_account_machine_pg.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from fastwrap.adapters.bundles import Storage
from fastwrap.adapters.clock import SystemClock
from fastwrap.adapters.memory.live_state import memory_live_state
from fastwrap.adapters.memory.repositories import memory_storage
from fastwrap.adapters.security.hashing import BcryptPasswordHasher, Sha256ApiKeys
from fastwrap.domain.clients import ClientService
from fastwrap.domain.errors import Conflict, NotFound, Unauthorized
from tests.support.pauses import PausingHasher

type OpenStorage = Callable[[], AbstractAsyncContextManager[Storage]]

LOCALS = ["ada", "Ada", "grace", "alan"]
PASSWORDS = st.sampled_from(
    ["Correct-Horse-9-battery", "Brand-new-pass-2", "Another-pass-3!", "Fourth-Pass-4#x"]
)


@dataclass
class Account:
    """What the model knows: the current key and password, and all the earlier ones."""

    id: Any
    email: str
    password: str
    key: str
    active: bool = True
    old_keys: list[str] = field(default_factory=list)
    old_passwords: list[str] = field(default_factory=list)

    def new_key(self, key: str) -> None:
        self.old_keys.append(self.key)
        self.key = key

    def new_password(self, password: str) -> None:
        if password != self.password and self.password not in self.old_passwords:
            self.old_passwords.append(self.password)
        self.password = password
        if password in self.old_passwords:
            self.old_passwords.remove(password)  # back to an earlier one: it is the latest again


class AccountMachine(RuleBasedStateMachine):
    open_storage: OpenStorage  # set by run_account_machine

    accounts = Bundle("accounts")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.stack = AsyncExitStack()
        storage = self.run(self.stack.enter_async_context(self.open_storage()))
        clock = SystemClock()
        self.hasher = PausingHasher(BcryptPasswordHasher(rounds=4))
        self.service = ClientService(
            writer=storage.clients,
            reader=storage.clients,
            conversations=memory_live_state(
                clock, lock_wait_seconds=1, max_messages=10
            ).conversations,
            hasher=self.hasher,
            keys=Sha256ApiKeys(),
            clock=clock,
        )
        self.live: dict[str, Account] = {}  # by lower-cased email
        self.gone: list[Account] = []

    def teardown(self) -> None:
        self.run(self.stack.aclose())
        self.loop.close()

    def run[T](self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    async def _authenticates(self, key: str) -> bool:
        try:
            await self.service.authenticate(key)
        except Unauthorized:
            return False
        return True

    async def _logs_in(self, email: str, password: str) -> str | None:
        try:
            return (await self.service.log_in(email, password)).api_key
        except Unauthorized:
            return None

    # --- steps ------------------------------------------------------------------------------

    @initialize(target=accounts, local=st.sampled_from(LOCALS), password=PASSWORDS)
    def first_sign_up(self, local: str, password: str) -> Account:
        return self.sign_up(local, password)

    @rule(target=accounts, local=st.sampled_from(LOCALS), password=PASSWORDS)
    def sign_up(self, local: str, password: str) -> Any:
        email = f"{local}@Example.com"
        try:
            issued = self.run(self.service.sign_up(email, password))
        except Conflict:
            assert email.lower() in self.live  # taken, whatever its case
            return multiple()
        assert email.lower() not in self.live
        assert issued.client.email == f"{local}@example.com"  # the domain lower-cased only
        account = Account(issued.client.id, issued.client.email, password, issued.api_key)
        self.live[email.lower()] = account
        return account

    @rule(account=accounts, shout=st.booleans())
    def log_in(self, account: Account, shout: bool) -> None:
        if not self._email_is_its_own(account):
            return
        email = account.email.upper() if shout else account.email
        key = self.run(self._logs_in(email, account.password))
        assert (key is not None) == self._usable(account)
        if key is not None:
            account.new_key(key)

    @rule(account=accounts, with_old_key=st.booleans())
    def rotate(self, account: Account, with_old_key: bool) -> None:
        key = account.old_keys[-1] if with_old_key and account.old_keys else account.key
        try:
            client = self.run(self.service.authenticate(key))
        except Unauthorized:
            assert key != account.key or not self._usable(account)
            return
        assert key == account.key
        account.new_key(self.run(self.service.regenerate_key(client)).api_key)

    @rule(account=accounts, new=PASSWORDS, right=st.booleans())
    def change_password(self, account: Account, new: str, right: bool) -> None:
        if not self._usable(account):
            return
        client = self.run(self.service.authenticate(account.key))
        current = account.password if right else "Not-the-password-1"
        try:
            self.run(self.service.change_own(client, current, email=None, password=new))
        except Unauthorized:
            assert not right
            return
        assert right
        account.new_password(new)

    @rule(account=accounts, local=st.sampled_from(LOCALS))
    def change_email(self, account: Account, local: str) -> None:
        if not self._usable(account):
            return
        client = self.run(self.service.authenticate(account.key))
        email = f"{local}@example.org"
        try:
            self.run(self.service.change_own(client, account.password, email=email, password=None))
        except Conflict:
            assert self.live.get(email.lower()) not in (None, account)
            return
        del self.live[account.email.lower()]
        account.email = email
        self.live[email.lower()] = account

    @rule(account=accounts, active=st.booleans())
    def set_active(self, account: Account, active: bool) -> None:
        try:
            self.run(self.service.set_active(account.id, active))
        except NotFound:
            assert account in self.gone
            return
        account.active = active

    @rule(account=accounts)
    def delete(self, account: Account) -> None:
        try:
            self.run(self.service.delete(account.id))
        except NotFound:
            assert account in self.gone
            return
        del self.live[account.email.lower()]
        self.gone.append(account)

    # --- races ------------------------------------------------------------------------------

    @rule(account=accounts, new=PASSWORDS)
    def login_racing_a_password_change(self, account: Account, new: str) -> None:
        """The login verified the old password; the change commits before the login writes."""
        if not self._usable(account) or new == account.password:
            return
        client = self.run(self.service.authenticate(account.key))

        async def race() -> str | None:
            held = self.hasher.hold_next("verify")
            login = asyncio.create_task(self._logs_in(account.email, account.password))
            await held.wait_reached()
            await self.service.change_own(client, account.password, email=None, password=new)
            held.release()
            return await login

        assert self.run(race()) is None
        account.new_password(new)

    @rule(account=accounts)
    def login_racing_a_deactivation(self, account: Account) -> None:
        if not self._usable(account):
            return

        async def race() -> str | None:
            held = self.hasher.hold_next("verify")
            login = asyncio.create_task(self._logs_in(account.email, account.password))
            await held.wait_reached()
            await self.service.set_active(account.id, False)
            held.release()
            return await login

        assert self.run(race()) is None
        account.active = False

    @rule(account=accounts, new=PASSWORDS)
    def password_change_racing_a_rotation(self, account: Account, new: str) -> None:
        """The change hashed the new password; a rotation commits before it writes."""
        if not self._usable(account):
            return
        client = self.run(self.service.authenticate(account.key))

        async def race() -> tuple[str, bool]:
            held = self.hasher.hold_next("hash")
            change = asyncio.create_task(
                self.service.change_own(client, account.password, email=None, password=new)
            )
            await held.wait_reached()
            rotated = await self.service.regenerate_key(client)
            held.release()
            try:
                await change
            except Unauthorized:
                return rotated.api_key, False
            return rotated.api_key, True

        key, changed = self.run(race())
        assert not changed  # its key was revoked before it wrote
        account.new_key(key)

    @rule(account=accounts, count=st.integers(2, 4))
    def rotations_from_one_key(self, account: Account, count: int) -> None:
        if not self._usable(account):
            return
        client = self.run(self.service.authenticate(account.key))

        async def race() -> list[Any]:
            rotations = (self.service.regenerate_key(client) for _ in range(count))
            return await asyncio.gather(*rotations, return_exceptions=True)

        results = self.run(race())
        issued = [r for r in results if not isinstance(r, BaseException)]
        assert len(issued) == 1
        assert all(isinstance(r, Unauthorized) for r in results if r not in issued)
        account.new_key(issued[0].api_key)

    # --- what must hold after every step ----------------------------------------------------

    def _usable(self, account: Account) -> bool:
        return account.active and account not in self.gone

    def _email_is_its_own(self, account: Account) -> bool:
        """A deleted account's email may belong to a newer account: logging in with it is
        that account's business."""
        return self.live.get(account.email.lower()) in (None, account)

    @invariant()
    def exactly_the_latest_key_works(self) -> None:
        for account in [*self.live.values(), *self.gone]:
            assert self.run(self._authenticates(account.key)) == self._usable(account)
            for old in account.old_keys:
                assert not self.run(self._authenticates(old))

    @invariant()
    def exactly_the_latest_password_logs_in(self) -> None:
        for account in [*self.live.values(), *self.gone]:
            if not self._email_is_its_own(account):
                continue
            for old in account.old_passwords:
                assert self.run(self._logs_in(account.email, old)) is None
            key = self.run(self._logs_in(account.email, account.password))
            assert (key is not None) == self._usable(account)
            if key is not None:
                account.new_key(key)


async def _memory() -> AsyncIterator[Storage]:
    yield memory_storage()


def run_account_machine(open_storage: OpenStorage, *, examples: int, steps: int) -> None:
    machine = type("Machine", (AccountMachine,), {"open_storage": staticmethod(open_storage)})
    run_state_machine_as_test(
        machine,  # type: ignore[arg-type]
        settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None),
    )


def test_the_account_over_the_memory_adapters() -> None:
    run_account_machine(asynccontextmanager(_memory), examples=40, steps=25)
