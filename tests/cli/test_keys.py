"""`fastwrap keys list|create|revoke --client ...` against a real PostgreSQL, checked through the
library facade on the same database."""

from __future__ import annotations

import json

import fastwrap
from tests.cli.conftest import Cli, Seeded


async def _scopes(app: fastwrap.FastWrap, key: str) -> list[str] | None:
    try:
        principal = await app.keys.authenticate(key)
    except fastwrap.Unauthorized:
        return None
    return sorted(principal.scopes)


def test_create_prints_the_key_once_and_it_authenticates(pg_cli: Cli, ada: Seeded) -> None:
    result = pg_cli.ok(
        "keys", "create", "--client", ada.email, "--name", "backend", "--scope", "chat",
        "--scope", "read",
    )  # fmt: skip

    key = result.stdout.strip()
    assert key.startswith("fw_")
    assert "shown only once" in result.stderr
    assert pg_cli.with_app(lambda app: _scopes(app, key)) == ["chat", "read"]


def test_list_shows_prefixes_never_keys_and_revoke_kills_at_once(pg_cli: Cli, ada: Seeded) -> None:
    made = json.loads(
        pg_cli.ok("keys", "create", "--client", ada.client_id, "--name", "dash", "--json").stdout
    )
    assert made["scopes"] == ["account", "chat", "read", "write"]

    listed = pg_cli.ok("keys", "list", "--client", ada.email)
    assert made["prefix"] in listed.stdout
    assert made["api_key"] not in listed.stdout
    as_json = json.loads(pg_cli.ok("keys", "list", "--client", ada.email, "--json").stdout)
    assert [k["id"] for k in as_json["items"]] == [made["id"]]

    pg_cli.ok("keys", "revoke", "--client", ada.email, made["id"])

    assert pg_cli.with_app(lambda app: _scopes(app, made["api_key"])) is None
    assert json.loads(pg_cli.ok("keys", "list", "--client", ada.email, "--json").stdout) == {
        "items": []
    }


def test_errors_are_one_line(pg_cli: Cli, ada: Seeded) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert pg_cli.error("keys", "revoke", "--client", ada.email, missing) == "error: key not found"
    bad_scope = pg_cli.error(
        "keys", "create", "--client", ada.email, "--name", "x", "--scope", "admin"
    )
    assert "scopes must be" in bad_scope
    assert pg_cli.error("keys", "list", "--client", "nobody@example.com").startswith(
        "error: no client"
    )


def test_a_key_can_expire(pg_cli: Cli, ada: Seeded) -> None:
    made = json.loads(
        pg_cli.ok(
            "keys", "create", "--client", ada.email, "--name", "temp", "--scope", "read",
            "--expires-at", "2999-01-01T00:00:00", "--json",
        ).stdout
    )  # fmt: skip
    assert made["expires_at"] == "2999-01-01T00:00:00+00:00"
    past = pg_cli.error(
        "keys", "create", "--client", ada.email, "--name", "old", "--expires-at", "2000-01-01"
    )
    assert "expires_at must be a future time" in past
