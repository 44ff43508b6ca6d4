"""`fastwrap characters list|show`: a client's personas."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from fastwrap.domain.model import Character, Page
from fastwrap.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from fastwrap.entrypoints.cli.console import (
    ClientRef,
    JsonFlag,
    parse_id,
    print_json,
    print_rows,
    run,
)
from fastwrap.entrypoints.cli.tenants import find_client
from fastwrap.entrypoints.views import character_view

if TYPE_CHECKING:
    from fastwrap.container import Services

characters_app = typer.Typer(help="Inspect a client's characters (personas).")

PREVIEW = 60


def character_json(character: Character) -> dict[str, Any]:
    view = character_view(character)
    view["created_at"] = character.created_at.isoformat()
    view["updated_at"] = character.updated_at.isoformat()
    return view


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW else flat[: PREVIEW - 3] + "..."


@characters_app.command("list")
def list_characters(
    client: ClientRef,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Page size.")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List a client's characters, oldest first."""

    async def work(services: Services) -> Page[Character]:
        owner = await find_client(services, client)
        return await services.characters.list(owner.id, cursor, limit)

    page = run(work)
    if as_json:
        items = [character_json(c) for c in page.items]
        print_json({"items": items, "next_cursor": page.next_cursor})
        return
    rows = [[str(c.id), c.name or "", str(c.ttl or ""), _preview(c.agent_role)] for c in page.items]
    print_rows(rows, ["ID", "NAME", "TTL", "PROMPT"])
    if page.next_cursor:
        typer.echo(f"more: fastwrap characters list --client {client} --cursor {page.next_cursor}")


@characters_app.command("show")
def show(
    character_id: Annotated[str, typer.Argument(help="The character's id.")],
    client: ClientRef,
    as_json: JsonFlag = False,
) -> None:
    """Show one character, with its whole prompt."""
    wanted = parse_id(character_id, "character")

    async def work(services: Services) -> Character:
        owner = await find_client(services, client)
        return await services.characters.get(owner.id, wanted)

    character = run(work)
    data = character_json(character)
    if as_json:
        print_json(data)
        return
    prompt = data.pop("agent_role")
    for field, value in data.items():
        typer.echo(f"{field + ':':<12}{'' if value is None else value}")
    typer.echo("agent_role:")
    typer.echo(prompt)
