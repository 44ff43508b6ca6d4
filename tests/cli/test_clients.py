"""`fastwrap clients ...` and `fastwrap keys rotate` against a real PostgreSQL."""

from __future__ import annotations

import json

import pytest

import fastwrap
from tests.cli.conftest import Cli, Seeded, seed
from tests.support.app import STRONG_PASSWORD


async def _authenticates(app: fastwrap.FastWrap, key: str) -> bool:
    try:
        await app.clients.authenticate(key)
    except fastwrap.Unauthorized:
        return False
    return True


def test_create_prints_the_key_once_and_the_key_works(pg_cli: Cli) -> None:
    result = pg_cli.ok("clients", "create", "Grace@Example.com", "--password", STRONG_PASSWORD)

    assert "email:      Grace@example.com" in result.stdout  # the domain lower-cased only
    [key_line] = [line for line in result.stdout.splitlines() if line.startswith("api_key:")]
    key = key_line.split()[-1]
    assert key.startswith("fw_")
    assert "shown only once" in result.stderr
    assert pg_cli.with_app(lambda app: _authenticates(app, key))


def test_create_asks_for_the_password_when_not_given(pg_cli: Cli) -> None:
    typed = f"{STRONG_PASSWORD}\n{STRONG_PASSWORD}\n"
    result = pg_cli.ok("clients", "create", "grace@example.com", "--admin", "--json", input=typed)

    created = json.loads(result.stdout[result.stdout.index("{") :])
    assert created["is_admin"] is True
    assert created["api_key"].startswith("fw_")


def test_create_refuses_a_weak_password_in_one_line(pg_cli: Cli) -> None:
    line = pg_cli.error("clients", "create", "grace@example.com", "--password", "short")
    assert "password does not meet the policy" in line


def test_create_refuses_a_taken_email(pg_cli: Cli, ada: Seeded) -> None:
    line = pg_cli.error("clients", "create", "ADA@example.com", "--password", STRONG_PASSWORD)
    assert line == "error: email is already registered"


def test_list_shows_clients_and_pages_with_the_cursor(pg_cli: Cli, ada: Seeded) -> None:
    seed(pg_cli, "bob@example.com")

    text = pg_cli.ok("clients", "list").stdout
    assert "ada@example.com" in text
    assert "bob@example.com" in text

    first = json.loads(pg_cli.ok("clients", "list", "--limit", "1", "--json").stdout)
    assert [c["email"] for c in first["items"]] == ["ada@example.com"]
    assert "password_hash" not in first["items"][0]
    assert "key_digest" not in first["items"][0]
    cursor = first["next_cursor"]
    second = json.loads(pg_cli.ok("clients", "list", "--cursor", cursor, "--json").stdout)
    assert [c["email"] for c in second["items"]] == ["bob@example.com"]
    assert second["next_cursor"] is None


def test_list_refuses_a_bad_cursor(pg_cli: Cli) -> None:
    assert "cursor is not valid" in pg_cli.error("clients", "list", "--cursor", "nonsense")


@pytest.mark.parametrize("by", ["id", "email"])
def test_show_finds_a_client_by_id_or_email(pg_cli: Cli, ada: Seeded, by: str) -> None:
    ref = ada.client_id if by == "id" else "Ada@Example.com"
    shown = json.loads(pg_cli.ok("clients", "show", ref, "--json").stdout)
    assert shown["id"] == ada.client_id
    assert shown["email"] == "ada@example.com"
    assert shown["is_active"] is True


def test_show_reports_an_unknown_client(pg_cli: Cli) -> None:
    line = pg_cli.error("clients", "show", "nobody@example.com")
    assert line == "error: no client with id or email 'nobody@example.com'"


def test_deactivate_kills_the_key_until_activated(pg_cli: Cli, ada: Seeded) -> None:
    assert "deactivated ada@example.com" in pg_cli.ok("clients", "deactivate", ada.email).stdout
    shown = json.loads(pg_cli.ok("clients", "show", ada.client_id, "--json").stdout)
    assert shown["is_active"] is False
    assert not pg_cli.with_app(lambda app: _authenticates(app, ada.api_key))

    assert "activated ada@example.com" in pg_cli.ok("clients", "activate", ada.client_id).stdout
    assert pg_cli.with_app(lambda app: _authenticates(app, ada.api_key))


def test_deactivate_and_activate_report_an_unknown_client(pg_cli: Cli) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert pg_cli.error("clients", "deactivate", missing).startswith("error: no client")
    assert pg_cli.error("clients", "activate", "nobody@example.com").startswith("error: no client")


def test_delete_asks_first_and_then_deletes(pg_cli: Cli, ada: Seeded) -> None:
    refused = pg_cli("clients", "delete", ada.email, input="n\n")
    assert refused.exit_code == 1
    pg_cli.ok("clients", "show", ada.email)

    assert "deleted ada@example.com" in pg_cli.ok("clients", "delete", ada.email, "--yes").stdout
    pg_cli.error("clients", "show", ada.client_id)
    assert not pg_cli.with_app(lambda app: _authenticates(app, ada.api_key))


def test_delete_reports_an_unknown_client(pg_cli: Cli) -> None:
    assert pg_cli.error("clients", "delete", "nobody@example.com", "-y").startswith("error: no")


def test_keys_rotate_prints_a_new_key_and_kills_the_old(pg_cli: Cli, ada: Seeded) -> None:
    result = pg_cli.ok("keys", "rotate", ada.email)

    new_key = result.stdout.strip()
    assert new_key.startswith("fw_")
    assert new_key != ada.api_key
    assert "shown only once" in result.stderr
    assert pg_cli.with_app(lambda app: _authenticates(app, new_key))
    assert not pg_cli.with_app(lambda app: _authenticates(app, ada.api_key))

    rotated = json.loads(pg_cli.ok("keys", "rotate", ada.client_id, "--json").stdout)
    assert rotated["id"] == ada.client_id
    assert pg_cli.with_app(lambda app: _authenticates(app, rotated["api_key"]))


def test_keys_rotate_works_for_a_deactivated_client(pg_cli: Cli, ada: Seeded) -> None:
    """An operator rotates a compromised key before switching the client back on."""
    pg_cli.ok("clients", "deactivate", ada.email)
    new_key = pg_cli.ok("keys", "rotate", ada.email).stdout.strip()
    pg_cli.ok("clients", "activate", ada.email)

    assert pg_cli.with_app(lambda app: _authenticates(app, new_key))
    assert not pg_cli.with_app(lambda app: _authenticates(app, ada.api_key))


def test_keys_rotate_reports_an_unknown_client(pg_cli: Cli) -> None:
    assert pg_cli.error("keys", "rotate", "nobody@example.com").startswith("error: no client")
