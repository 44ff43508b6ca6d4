"""`import fastwrap` and `fastwrap.open(...)`: the library facade over the same container."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from dependency_injector import providers

import fastwrap
from fastwrap.adapters.memory.repositories import memory_storage
from fastwrap.adapters.postgres.migrate import load_migrations
from fastwrap.domain.errors import NotFound
from fastwrap.settings import Settings
from tests.support.app import STRONG_PASSWORD, hermetic_settings
from tests.support.services import integration

HEAVY = ["pydantic", "pydantic_settings", "langchain_core", "asyncpg", "dependency_injector"]


def test_import_fastwrap_loads_nothing_heavy() -> None:
    probe = (
        f"import json, sys, fastwrap; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []


def test_the_typed_reexports_are_the_lazy_names() -> None:
    """`fastwrap/__init__.py` lists each name for type checkers and for the lazy import."""
    tree = ast.parse(Path(fastwrap.__file__).read_text())
    [checking] = [node for node in tree.body if isinstance(node, ast.If)]
    typed = {
        alias.asname or alias.name
        for node in checking.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert typed == set(fastwrap.__all__) - {"__version__"}


def test_every_public_name_resolves() -> None:
    for name in fastwrap.__all__:
        assert getattr(fastwrap, name) is not None, name
    assert fastwrap.Settings is Settings
    assert fastwrap.NotFound is NotFound
    with pytest.raises(AttributeError):
        _ = fastwrap.NoSuchThing


@pytest.fixture(params=["memory", integration("postgres")])
def settings(request: pytest.FixtureRequest) -> fastwrap.Settings:
    if request.param == "postgres":
        dsn = request.getfixturevalue("pg_dsn")
        return hermetic_settings(fastwrap_storage="postgres", database_url=dsn)
    return hermetic_settings()


async def test_a_tenant_signs_up_chats_and_searches(settings: fastwrap.Settings) -> None:
    async with fastwrap.open(settings) as app:
        issued = await app.clients.sign_up("ada@example.com", STRONG_PASSWORD)
        tenant = issued.client.id
        assert (await app.clients.authenticate(issued.api_key)).id == tenant

        pirate = await app.characters.create(
            tenant, fastwrap.CharacterDraft(name="Pirate", agent_role="You are a pirate.")
        )
        first = await app.chat.turn(
            tenant, fastwrap.TurnRequest(character_id=pirate.id, content="Ahoy")
        )
        request = fastwrap.TurnRequest(
            character_id=pirate.id, content="Again", conversation_id=first.conversation_id
        )
        parts = [part async for part in await app.chat.stream_turn(tenant, request)]
        *deltas, done = parts
        assert isinstance(done, fastwrap.TurnResult)
        assert "".join(d.content for d in deltas if isinstance(d, fastwrap.ChatDelta)) == (
            done.reply.content
        )
        history = await app.chat.conversation(tenant, first.conversation_id)
        assert [m.role for m in history.messages] == ["user", "assistant"] * 2

        await app.vectors.upsert(
            tenant,
            [
                fastwrap.SnippetInput(entity_type="faq", entity_id="hours", content="open at 9"),
                fastwrap.SnippetInput(entity_type="faq", entity_id="boats", content="blue boats"),
            ],
        )
        hits = await app.vectors.search(tenant, "when do you open", top_k=1)
        assert [h.snippet.entity_id for h in hits] == ["hours"]
        assert (await app.health.report()).ok

        await app.chat.forget(tenant, first.conversation_id)
        with pytest.raises(fastwrap.NotFound):
            await app.chat.conversation(tenant, first.conversation_id)


async def test_the_storage_outlives_the_app_on_postgres(pg_dsn: str) -> None:
    settings = hermetic_settings(fastwrap_storage="postgres", database_url=pg_dsn)
    async with fastwrap.open(settings) as app:
        await app.clients.sign_up("ada@example.com", STRONG_PASSWORD)
    async with fastwrap.open(settings) as app:
        page = await app.clients.list(None, 10)
    assert [c.email for c in page.items] == ["ada@example.com"]


async def test_keyword_overrides_apply_on_top_of_settings() -> None:
    async with fastwrap.open(hermetic_settings(), embedding_dim=64, bcrypt_rounds=5) as app:
        assert app.settings.embedding_dim == 64
        assert app.settings.bcrypt_rounds == 5
        assert app.container.settings() is app.settings


async def test_bad_overrides_are_refused() -> None:
    with pytest.raises(ValueError, match="embedding_dim"):
        async with fastwrap.open(hermetic_settings(), embedding_dim=0):
            pass


class ScriptedModel(fastwrap.ChatModel):
    """A chat model of the embedding program's own: always the same reply."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.closed = False

    async def reply(
        self,
        messages: Sequence[fastwrap.PromptMessage],
        options: fastwrap.ModelOptions = fastwrap.NO_OPTIONS,
        caller: fastwrap.Caller | None = None,
    ) -> fastwrap.ChatReply:
        return fastwrap.ChatReply(content=self.text)

    async def stream(
        self,
        messages: Sequence[fastwrap.PromptMessage],
        options: fastwrap.ModelOptions = fastwrap.NO_OPTIONS,
        caller: fastwrap.Caller | None = None,
    ) -> AsyncIterator[fastwrap.ChatDelta]:
        for word in self.text.split(" "):
            yield fastwrap.ChatDelta(content=word + " ")

    async def aclose(self) -> None:
        self.closed = True


async def test_any_adapter_can_be_replaced_through_the_container() -> None:
    # Configured for a PostgreSQL server that does not exist: the override means it is never used.
    settings = hermetic_settings(
        fastwrap_storage="postgres", database_url="postgresql://nobody@127.0.0.1:1/nowhere"
    )
    model = ScriptedModel("Arr, matey")

    @asynccontextmanager
    async def scripted() -> AsyncIterator[tuple[fastwrap.ChatModel, str]]:
        yield model, "scripted"
        await model.aclose()

    container = fastwrap.make_container(settings)
    container.storage.override(providers.Object(memory_storage()))
    container.chat_model.override(providers.Resource(scripted))

    async with fastwrap.open(container=container) as app:
        issued = await app.clients.sign_up("ada@example.com", STRONG_PASSWORD)
        pirate = await app.characters.create(
            issued.client.id, fastwrap.CharacterDraft(agent_role="You are a pirate.")
        )
        result = await app.chat.turn(
            issued.client.id, fastwrap.TurnRequest(character_id=pirate.id, content="Hi")
        )
        report = await app.health.report()

    assert result.reply.content == "Arr, matey"
    assert report.checks["llm"].adapter == "scripted"
    assert report.checks["postgres"].adapter == "memory"
    assert model.closed, "the container closes the resources it started"


async def test_settings_and_a_container_are_exclusive() -> None:
    settings = hermetic_settings()
    with pytest.raises(TypeError, match="not both"):
        async with fastwrap.open(settings, container=fastwrap.make_container(settings)):
            pass


async def test_migrate_and_status_through_the_library(pg_empty_dsn: str) -> None:
    settings = hermetic_settings(fastwrap_storage="postgres", database_url=pg_empty_dsn)

    every = [f"{m.version:04d}_{m.name}" for m in load_migrations()]
    assert len((await fastwrap.migration_status(settings)).pending) == len(every)
    assert await fastwrap.migrate(settings) == every
    assert every[:3] == ["0001_schema", "0002_vector_index", "0003_change_notices"]
    assert await fastwrap.migrate(settings) == []
    assert (await fastwrap.migration_status(settings)).pending == ()
