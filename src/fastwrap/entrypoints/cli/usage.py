"""`fastwrap usage`: what the model calls cost, per day, character, end user, key or model."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from fastwrap.domain.model import Page
from fastwrap.domain.pagination import MAX_LIMIT
from fastwrap.domain.usage import GROUP_FIELDS, GROUPS, UsageRow, check_group_by
from fastwrap.entrypoints.cli.console import JsonFlag, fail, print_json, print_rows, run
from fastwrap.entrypoints.cli.tenants import find_client

if TYPE_CHECKING:
    from fastwrap.container import Services

SINCE_RE = re.compile(r"^([0-9]{1,5})\s*([hdw])$")
UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> timedelta:
    match = SINCE_RE.fullmatch(text.strip().lower())
    if match is None:
        fail(f"--since {text!r}: write a span such as 24h, 7d or 4w")
    return timedelta(**{UNITS[match[2]]: int(match[1])})


def usage(
    client: Annotated[
        str | None, typer.Option("--client", "-c", help="Only this client (id or email).")
    ] = None,
    since: Annotated[str, typer.Option(help="How far back: 24h, 7d, 4w.")] = "7d",
    group_by: Annotated[
        str, typer.Option("--group-by", "-g", help=f"One row per: {', '.join(GROUPS)}.")
    ] = "day",
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Rows at most.")] = MAX_LIMIT,
    as_json: JsonFlag = False,
) -> None:
    """Tokens and calls recorded in the usage ledger, as a table (or JSON)."""
    span = parse_since(since)
    if group_by not in GROUPS:
        fail(f"--group-by must be one of {', '.join(GROUPS)}")
    group = check_group_by(group_by)

    async def work(services: Services) -> Page[UsageRow]:
        client_id = (await find_client(services, client)).id if client else None
        now = datetime.now(UTC)
        return await services.usage.report(
            client_id, since=now - span, until=now, group_by=group, limit=limit
        )

    page = run(work)
    field = GROUP_FIELDS[group]
    rows = [
        {
            field: r.group,
            "requests": r.requests,
            "failed": r.failed,
            "input_tokens": r.input_tokens,
            "output_tokens": r.output_tokens,
            "estimated": r.estimated,
        }
        for r in page.items
    ]
    if as_json:
        print_json({"items": rows, "next_cursor": page.next_cursor})
        return
    header = [field.upper(), "REQUESTS", "FAILED", "INPUT", "OUTPUT", "ESTIMATED"]
    table = [
        [
            str(r[field] if r[field] is not None else "-"),
            *(str(r[k]) for k in ("requests", "failed", "input_tokens", "output_tokens")),
            "yes" if r["estimated"] else "",
        ]
        for r in rows
    ]
    print_rows(table, header)
    if page.next_cursor:
        typer.echo(f"(first {limit} groups shown; narrow --since or raise --limit)")
