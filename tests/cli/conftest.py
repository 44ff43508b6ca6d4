"""The CLI runs in-process through typer's CliRunner, configured like a shell: by environment.

Each invocation starts and stops its own container, exactly as `fastwrap ...` does. Test data is
prepared and checked through the library facade on the same database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import fastwrap
from fastwrap.entrypoints.cli.app import app
from fastwrap.settings import Settings
from tests.support.app import STRONG_PASSWORD, hermetic_settings
from tests.support.postgres import DEFAULT_DIM

SETTING_NAMES = [name.upper() for name in Settings.model_fields]


@dataclass
class Cli:
    """`fastwrap` with a fixed environment, and the same settings for the library side."""

    env: dict[str, str | None]
    settings: Settings

    def __call__(self, *args: str, input: str | None = None) -> Result:
        runner = CliRunner(env=self.env)
        return runner.invoke(app, list(args), input=input, prog_name="fastwrap")

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result

    def error(self, *args: str, input: str | None = None) -> str:
        """Run a command that must fail; returns its one error line."""
        result = self(*args, input=input)
        assert result.exit_code == 1, (result.stdout, result.stderr)
        assert "Traceback" not in result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ")
        return lines[0]

    def with_app[T](self, work: Callable[[fastwrap.FastWrap], Awaitable[T]]) -> T:
        async def session() -> T:
            async with fastwrap.open(self.settings) as opened:
                return await work(opened)

        return asyncio.run(session())


def cli_env(**values: str) -> dict[str, str | None]:
    """Every setting unset (whatever the developer's shell holds), then `values`."""
    env: dict[str, str | None] = dict.fromkeys(SETTING_NAMES)
    env.update(BCRYPT_ROUNDS="4", EMBEDDING_DIM=str(DEFAULT_DIM))
    env.update(values)
    return env


@pytest.fixture
def pg_cli(pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    env = cli_env(FASTWRAP_STORAGE="postgres", DATABASE_URL=pg_dsn)
    settings = hermetic_settings(fastwrap_storage="postgres", database_url=pg_dsn)
    return Cli(env, settings)


@pytest.fixture
def memory_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    return Cli(cli_env(FASTWRAP_STORAGE="memory"), hermetic_settings())


@dataclass(frozen=True)
class Seeded:
    client_id: str
    email: str
    api_key: str
    character_id: str


async def _seed(app: fastwrap.FastWrap, email: str) -> Seeded:
    issued = await app.clients.sign_up(email, STRONG_PASSWORD)
    character = await app.characters.create(
        issued.client.id,
        fastwrap.CharacterDraft(name="Pirate", agent_role="You are a pirate."),
    )
    return Seeded(str(issued.client.id), issued.client.email, issued.api_key, str(character.id))


@pytest.fixture
def ada(pg_cli: Cli) -> Seeded:
    """A client with one character, in the pg_cli database."""
    return pg_cli.with_app(lambda app: _seed(app, "ada@example.com"))


def seed(cli: Cli, email: str) -> Seeded:
    return cli.with_app(lambda app: _seed(app, email))
