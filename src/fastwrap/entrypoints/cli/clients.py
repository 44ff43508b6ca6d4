"""`fastwrap clients ...` and `fastwrap keys rotate`: tenant administration from a shell."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from fastwrap.domain.clients import IssuedKey
from fastwrap.domain.model import Client, Page
from fastwrap.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from fastwrap.domain.updates import KEEP, Keep
from fastwrap.entrypoints.cli.console import JsonFlag, fail, print_json, print_rows, run
from fastwrap.entrypoints.cli.tenants import CLIENT_HEADER, client_json, client_row, find_client

if TYPE_CHECKING:
    from fastwrap.container import Services

clients_app = typer.Typer(help="List, inspect, create, (de)activate and delete clients.")
keys_app = typer.Typer(help="Manage clients' API keys.")

ClientArg = Annotated[str, typer.Argument(help="The client's id or email.")]


def show_client(client: Client, as_json: bool, api_key: str | None = None) -> None:
    if as_json:
        print_json(client_json(client, api_key))
        return
    for field, value in client_json(client).items():
        typer.echo(f"{field + ':':<12}{value}")
    if api_key is not None:
        typer.echo(f"{'api_key:':<12}{api_key}")
        typer.secho("keep the API key now: it is shown only once", err=True, fg="yellow")


@clients_app.command("list")
def list_clients(
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Page size.")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List clients, oldest first, one page at a time."""
    page: Page[Client] = run(lambda services: services.clients.list(cursor, limit))
    if as_json:
        items = [client_json(c) for c in page.items]
        print_json({"items": items, "next_cursor": page.next_cursor})
        return
    print_rows([client_row(c) for c in page.items], CLIENT_HEADER)
    if page.next_cursor:
        typer.echo(f"more: fastwrap clients list --cursor {page.next_cursor}")


@clients_app.command("show")
def show(client: ClientArg, as_json: JsonFlag = False) -> None:
    """Show one client."""
    found = run(lambda services: find_client(services, client))
    show_client(found, as_json)


@clients_app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="The new client's email.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Its password (asked for when not given).",
        ),
    ],
    admin: Annotated[bool, typer.Option("--admin", help="Make it an admin.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a client and print its API key (shown once)."""
    issued: IssuedKey = run(
        lambda services: services.clients.create(email, password, is_admin=admin)
    )
    show_client(issued.client, as_json, issued.api_key)


def _set_active(ref: str, active: bool) -> Client:
    async def work(services: Services) -> Client:
        client = await find_client(services, ref)
        return await services.clients.set_active(client.id, active)

    return run(work)


@clients_app.command("deactivate")
def deactivate(client: ClientArg) -> None:
    """Deactivate a client: its API key stops working until it is activated again."""
    updated = _set_active(client, active=False)
    typer.echo(f"deactivated {updated.email} ({updated.id})")


@clients_app.command("activate")
def activate(client: ClientArg) -> None:
    """Activate a deactivated client."""
    updated = _set_active(client, active=True)
    typer.echo(f"activated {updated.email} ({updated.id})")


@clients_app.command("delete")
def delete(
    client: ClientArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a client with its characters, snippets and conversations."""
    if not yes:
        typer.confirm(f"delete {client} with all its data?", abort=True)

    async def work(services: Services) -> Client:
        found = await find_client(services, client)
        await services.clients.delete(found.id)
        return found

    deleted = run(work)
    typer.echo(f"deleted {deleted.email} ({deleted.id})")


@keys_app.command("rotate")
def rotate(client: ClientArg, as_json: JsonFlag = False) -> None:
    """Issue a new API key (printed once); the old key stops working at once."""

    async def work(services: Services) -> IssuedKey:
        return await services.clients.regenerate_key(await find_client(services, client))

    issued = run(work)
    if as_json:
        print_json({"id": str(issued.client.id), "api_key": issued.api_key})
        return
    typer.echo(issued.api_key)
    typer.secho(
        f"new API key for {issued.client.email}; the old one no longer works. "
        "Keep it now: it is shown only once",
        err=True,
        fg="yellow",
    )


def _budget_value(text: str | None) -> int | Keep | None:
    """An option's value: absent → unchanged, `none` → removed, else a token count."""
    if text is None:
        return KEEP
    if text.strip().lower() in {"none", "off", "null"}:
        return None
    try:
        return int(text.replace("_", "").replace(",", ""))
    except ValueError:
        fail(f"{text!r} is not a token count (or `none` to remove the budget)")


@clients_app.command("budget")
def budget(
    client: ClientArg,
    daily: Annotated[str | None, typer.Option(help="Tokens per UTC day, or `none`.")] = None,
    monthly: Annotated[str | None, typer.Option(help="Tokens per UTC month, or `none`.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a client's token budgets, or change them (--daily / --monthly)."""
    day, month = _budget_value(daily), _budget_value(monthly)

    async def work(services: Services) -> Client:
        found = await find_client(services, client)
        if day is KEEP and month is KEEP:
            return found
        return await services.clients.set_budgets(found.id, daily=day, monthly=month)

    updated = run(work)
    values = {
        "id": str(updated.id),
        "email": updated.email,
        "token_budget_daily": updated.token_budget_daily,
        "token_budget_monthly": updated.token_budget_monthly,
    }
    if as_json:
        print_json(values)
        return
    for field, value in values.items():
        typer.echo(f"{field + ':':<22}{'none' if value is None else value}")
