"""`fastwrap db ...`, `fastwrap health`, `--help` everywhere, and one-line configuration errors."""

from __future__ import annotations

import json

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from fastwrap.adapters.postgres.migrate import load_migrations
from fastwrap.entrypoints.cli.app import app
from tests.cli.conftest import Cli, cli_env
from tests.support.postgres import DEFAULT_DIM, with_database


@pytest.fixture
def fresh_cli(pg_cli: Cli, pg_empty_dsn: str) -> Cli:
    """The CLI on a database with nothing in it yet."""
    pg_cli.env["DATABASE_URL"] = pg_empty_dsn
    return pg_cli


def test_status_then_migrate_then_status(fresh_cli: Cli) -> None:
    before = json.loads(fresh_cli.ok("db", "status", "--json").stdout)
    assert before["applied"] == []
    names = [m.name for m in load_migrations()]
    assert [m["name"] for m in before["pending"]] == names
    assert names[:3] == ["schema", "vector_index", "change_notices"]
    assert f"{len(names)} pending" in fresh_cli.ok("db", "status").stdout

    migrated = fresh_cli.ok("db", "migrate").stdout
    assert "applied 0001_schema" in migrated
    assert "applied 0002_vector_index" in migrated
    assert "applied 0003_change_notices" in migrated
    assert "applied 0004_client_profile" in migrated

    after = json.loads(fresh_cli.ok("db", "status", "--json").stdout)
    assert [m["version"] for m in after["applied"]] == [m.version for m in load_migrations()]
    assert after["pending"] == []
    assert fresh_cli.ok("db", "status").stdout.rstrip().endswith("up to date")
    again = fresh_cli.ok("db", "migrate").stdout
    assert "applied" not in again
    assert "is up to date" in again


def test_migrate_refuses_a_dimension_the_vectors_do_not_have(pg_cli: Cli) -> None:
    pg_cli.env["EMBEDDING_DIM"] = str(DEFAULT_DIM * 2)
    line = pg_cli.error("db", "migrate")
    assert f"EMBEDDING_DIM={DEFAULT_DIM * 2} does not match the database" in line


def test_reset_embeddings_resizes_the_vectors(fresh_cli: Cli) -> None:
    fresh_cli.ok("db", "migrate")
    fresh_cli.env["EMBEDDING_DIM"] = "64"
    fresh_cli.error("health")  # the stored vectors have another dimension

    refused = fresh_cli("db", "reset-embeddings", input="n\n")
    assert refused.exit_code == 1
    result = fresh_cli.ok("db", "reset-embeddings", "--yes")

    assert "deleted 0 snippets; vectors now have 64 dimensions" in result.stdout
    fresh_cli.ok("health")


def test_db_commands_need_a_database(memory_cli: Cli) -> None:
    for command in ("migrate", "status"):
        line = memory_cli.error("db", command)
        assert line == "error: FASTWRAP_STORAGE=memory has no database to administer"


def test_db_status_reports_an_unreachable_database(pg_cli: Cli) -> None:
    pg_cli.env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/fastwrap"
    assert pg_cli.error("db", "status").startswith("error: database unavailable")


def test_health_prints_every_check(pg_cli: Cli) -> None:
    text = pg_cli.ok("health").stdout
    assert "status: ok" in text
    report = json.loads(pg_cli.ok("health", "--json").stdout)
    assert report["status"] == "ok"
    assert report["checks"]["postgres"] == {"status": "ok", "adapter": "postgres", "detail": None}
    assert report["checks"]["llm"]["adapter"] == "offline"
    assert set(report["checks"]) == {"postgres", "redis", "llm", "embeddings"}


def test_health_exits_1_when_degraded(memory_cli: Cli) -> None:
    memory_cli.env["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there

    result = memory_cli("health", "--json")

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["status"] == "degraded"
    assert report["checks"]["redis"]["status"] == "down"
    assert report["checks"]["redis"]["detail"]
    assert "status: degraded" in memory_cli("health").stdout


def test_bad_configuration_is_one_line(memory_cli: Cli) -> None:
    memory_cli.env["EMBEDDING_DIM"] = "0"
    line = memory_cli.error("clients", "list")
    assert line.startswith("error: bad configuration: EMBEDDING_DIM:")


def test_a_startup_failure_is_one_line(pg_cli: Cli) -> None:
    pg_cli.env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/fastwrap"
    assert pg_cli.error("clients", "list").startswith("error: database unavailable")


def test_a_missing_database_is_one_line_naming_the_variable(pg_cli: Cli, pg_dsn: str) -> None:
    pg_cli.env["DATABASE_URL"] = with_database(pg_dsn, "no_such_database")
    error = pg_cli.error("clients", "list")
    assert error == "error: DATABASE_URL (or POSTGRES_*): the database does not exist"


def test_memory_storage_runs_commands_without_any_database(memory_cli: Cli) -> None:
    listed = json.loads(memory_cli.ok("clients", "list", "--json").stdout)
    assert listed == {"items": [], "next_cursor": None}


def every_command(group: TyperGroup, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        path = (*prefix, name)
        found.append(path)
        if isinstance(command, TyperGroup):
            found += every_command(command, path)
    return found


COMMANDS = every_command(typer.main.get_group(app))


def test_the_cli_has_the_spec_commands() -> None:
    assert set(COMMANDS) >= {
        ("serve",),
        ("db", "migrate"),
        ("db", "status"),
        *(("clients", c) for c in ("list", "show", "create", "deactivate", "activate", "delete")),
        ("keys", "rotate"),
        ("characters", "list"),
        ("characters", "show"),
        ("chat",),
        ("vectors", "import"),
        ("health",),
    }


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner(env=cli_env()).invoke(app, [*path, "--help"], prog_name="fastwrap")
    assert result.exit_code == 0, result.output
    assert "Usage: fastwrap " + " ".join(path) in " ".join(result.stdout.split())
    group = typer.main.get_group(app)
    for name in path[:-1]:
        found = group.commands[name]
        assert isinstance(found, TyperGroup)
        group = found
    command = group.commands[path[-1]]
    assert command.help or command.short_help, f"{' '.join(path)} has no description"


def test_several_workers_refuse_per_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from fastwrap.entrypoints.cli.app import app

    for name in ("REDIS_URL", "REDIS_HOST"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code == 1
    assert "needs REDIS_URL" in result.output
