"""`fastwrap usage` and `fastwrap clients budget` (SPEC §13), on PostgreSQL."""

from __future__ import annotations

import json

from tests.cli.conftest import Cli, Seeded, seed


def test_cli_chat_is_metered_and_usage_prints_a_table(pg_cli: Cli, ada: Seeded) -> None:
    pg_cli.ok("chat", ada.character_id, "--client", ada.email, input="hello\nagain\n/exit\n")

    table = pg_cli.ok("usage", "--client", ada.email, "--group-by", "character").stdout
    header, row = table.strip().splitlines()
    assert header.split() == ["CHARACTER_ID", "REQUESTS", "FAILED", "INPUT", "OUTPUT", "ESTIMATED"]
    assert row.split()[:3] == [ada.character_id, "2", "0"]

    data = json.loads(pg_cli.ok("usage", "--since", "24h", "--json").stdout)
    [day] = data["items"]
    assert day["requests"] == 2
    assert day["input_tokens"] > 0
    other = seed(pg_cli, "bob@example.com")
    mine = json.loads(pg_cli.ok("usage", "--client", other.email, "--json").stdout)
    assert mine["items"] == []


def test_usage_refuses_what_it_cannot_read(pg_cli: Cli, ada: Seeded) -> None:
    assert "--since" in pg_cli.error("usage", "--since", "yesterday")
    assert "group-by" in pg_cli.error("usage", "--group-by", "planet")
    assert "no client" in pg_cli.error("usage", "--client", "nobody@example.com")


def test_clients_budget_shows_sets_and_removes(pg_cli: Cli, ada: Seeded) -> None:
    shown = json.loads(pg_cli.ok("clients", "budget", ada.email, "--json").stdout)
    assert (shown["token_budget_daily"], shown["token_budget_monthly"]) == (None, None)

    set_ = pg_cli.ok("clients", "budget", ada.email, "--daily", "5000", "--monthly", "100_000")
    assert "token_budget_daily:" in set_.stdout
    assert "5000" in set_.stdout
    later = json.loads(pg_cli.ok("clients", "budget", ada.client_id, "--json").stdout)
    assert (later["token_budget_daily"], later["token_budget_monthly"]) == (5000, 100_000)

    pg_cli.ok("clients", "budget", ada.email, "--daily", "none")
    after = json.loads(pg_cli.ok("clients", "budget", ada.email, "--json").stdout)
    assert (after["token_budget_daily"], after["token_budget_monthly"]) == (None, 100_000)
    assert "token" in pg_cli.error("clients", "budget", ada.email, "--daily", "lots")
    assert "between 1 and" in pg_cli.error("clients", "budget", ada.email, "--monthly", "0")
