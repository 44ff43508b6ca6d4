"""The `fastwrap` command."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from fastwrap.entrypoints.cli.characters import characters_app
from fastwrap.entrypoints.cli.chat import chat
from fastwrap.entrypoints.cli.clients import clients_app, keys_app
from fastwrap.entrypoints.cli.console import fail, load_settings
from fastwrap.entrypoints.cli.db import db_app
from fastwrap.entrypoints.cli.health import health
from fastwrap.entrypoints.cli.vectors import vectors_app

__all__ = ["app", "fail", "load_settings", "main"]

app = typer.Typer(
    help="FastWrap: persona chatbots as a service.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold a DSN with its password
)


@app.callback()
def root() -> None:
    """FastWrap: persona chatbots as a service (REST API, admin CLI, library)."""


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (default: HOST or 0.0.0.0)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: PORT or 8555)")] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development)")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Run the HTTP API (Swagger UI at /docs)."""
    import uvicorn

    settings = load_settings()
    reload = reload or settings.fastwrap_env == "development"
    uvicorn.run(
        "fastwrap.entrypoints.http.asgi:app_from_env",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        reload=reload,
        workers=None if reload else workers,
        log_level=settings.log_level.lower(),
        proxy_headers=False,  # X-Forwarded-For is trusted only from TRUSTED_PROXIES, by us
        timeout_keep_alive=5,
        access_log=False,  # FastWrap logs one line per request itself, with tenant and timing
    )


# The admin commands: the same use cases as the API, through the same container.
app.add_typer(db_app, name="db", no_args_is_help=True)
app.add_typer(clients_app, name="clients", no_args_is_help=True)
app.add_typer(keys_app, name="keys", no_args_is_help=True)
app.add_typer(characters_app, name="characters", no_args_is_help=True)
app.command()(chat)
app.add_typer(vectors_app, name="vectors", no_args_is_help=True)
app.command()(health)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
