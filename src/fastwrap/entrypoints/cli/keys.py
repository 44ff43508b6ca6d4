"""`fastwrap keys list|create|revoke --client ...`: a client's named, scoped keys (SPEC §13).

The operator acts as the client's primary key would: a created key may hold any scope.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer

from fastwrap.domain.access import IssuedApiKey
from fastwrap.domain.keys import SCOPES, ApiKey, primary
from fastwrap.entrypoints.cli.clients import keys_app
from fastwrap.entrypoints.cli.console import JsonFlag, print_json, print_rows, run
from fastwrap.entrypoints.cli.tenants import find_client

if TYPE_CHECKING:
    from fastwrap.container import Services

ClientOption = Annotated[str, typer.Option("--client", help="The client's id or email.")]
KEY_HEADER = ["ID", "NAME", "PREFIX", "SCOPES", "CREATED", "LAST USED", "EXPIRES"]


def key_json(key: ApiKey) -> dict[str, Any]:
    """A key as the API lists it: never the key or its digest."""
    return {
        "id": str(key.id),
        "name": key.name,
        "prefix": key.prefix,
        "scopes": sorted(key.scopes),
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
    }


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def _times(key: ApiKey) -> list[str]:
    return [_when(key.created_at), _when(key.last_used_at), _when(key.expires_at)]


@keys_app.command("list")
def list_keys(client: ClientOption, as_json: JsonFlag = False) -> None:
    """List a client's named keys (never the keys themselves)."""

    async def work(services: Services) -> list[ApiKey]:
        found = await find_client(services, client)
        return await services.access.list_keys(found.id)

    keys = run(work)
    if as_json:
        print_json({"items": [key_json(k) for k in keys]})
        return
    rows = [[str(k.id), k.name, k.prefix, ",".join(sorted(k.scopes)), *_times(k)] for k in keys]
    print_rows(rows, KEY_HEADER)


@keys_app.command("create")
def create_key(
    client: ClientOption,
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'backend'.")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help=f"Repeat for each scope: {', '.join(SCOPES)} (default all)."),
    ] = None,
    expires_at: Annotated[
        datetime | None,
        typer.Option(help="When the key stops working, in UTC: YYYY-MM-DD[THH:MM:SS]."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a named key (printed once)."""
    expires = expires_at.replace(tzinfo=UTC) if expires_at is not None else None

    async def work(services: Services) -> IssuedApiKey:
        found = await find_client(services, client)
        return await services.access.create_key(
            primary(found), name, scope or list(SCOPES), expires
        )

    issued = run(work)
    if as_json:
        print_json({**key_json(issued.key), "api_key": issued.api_key})
        return
    typer.echo(issued.api_key)
    typer.secho(
        f"key {issued.key.id} ({','.join(sorted(issued.key.scopes))}); "
        "keep it now: it is shown only once",
        err=True,
        fg="yellow",
    )


@keys_app.command("revoke")
def revoke_key(
    client: ClientOption,
    key_id: Annotated[UUID, typer.Argument(help="The key's id (from `fastwrap keys list`).")],
) -> None:
    """Revoke a named key: it stops working at once, on every replica."""

    async def work(services: Services) -> None:
        found = await find_client(services, client)
        await services.access.revoke_key(found.id, key_id)

    run(work)
    typer.echo(f"revoked {key_id}")
