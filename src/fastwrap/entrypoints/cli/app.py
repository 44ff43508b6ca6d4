"""The `fastwrap` command."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated, Any

import typer

from fastwrap.entrypoints.cli.characters import characters_app
from fastwrap.entrypoints.cli.chat import chat
from fastwrap.entrypoints.cli.clients import clients_app, keys_app
from fastwrap.entrypoints.cli.console import fail, load_settings
from fastwrap.entrypoints.cli.db import db_app
from fastwrap.entrypoints.cli.documents import documents_app
from fastwrap.entrypoints.cli.health import health
from fastwrap.entrypoints.cli.keys import create_key, list_keys, revoke_key
from fastwrap.entrypoints.cli.metrics_dir import prepare_metrics_dir
from fastwrap.entrypoints.cli.usage import usage
from fastwrap.entrypoints.cli.vectors import vectors_app
from fastwrap.settings import Settings

__all__ = ["app", "fail", "load_settings", "main"]
_KEY_COMMANDS = (create_key, list_keys, revoke_key)  # registered on `keys` by their module

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
    options: dict[str, Any] = {
        "app": "fastwrap.entrypoints.http.asgi:app_from_env",
        "factory": True,
        "host": host or settings.host,
        "port": port or settings.port,
        "reload": reload,
        "workers": None if reload else workers,
        "log_level": settings.log_level.lower(),
        "proxy_headers": False,  # X-Forwarded-For is trusted only from TRUSTED_PROXIES, by us
        "timeout_keep_alive": 5,
        "access_log": False,  # FastWrap logs one line per request, with tenant and timing
    }
    if workers > 1 and not reload and settings.redis_dsn is None:
        # Each worker would keep its own conversations, locks and rate limits.
        fail("--workers > 1 needs REDIS_URL (or REDIS_HOST) so the workers share conversations")
    if workers > 1 and settings.fastwrap_storage == "memory":
        fail("--workers > 1 needs PostgreSQL: FASTWRAP_STORAGE=memory is per process")
    if not reload:
        prepare_metrics_dir(workers, settings.metrics_enabled)
    embedded = settings.fastwrap_storage == "postgres" and settings.postgres_dsn is None
    if workers > 1 and not reload and embedded:
        _serve_workers_on_embedded(settings, options)
    else:
        uvicorn.run(**options)


def _serve_workers_on_embedded(settings: Settings, options: dict[str, Any]) -> None:
    """Workers cannot each own the embedded server (its data dir is locked to one process):
    this process runs it and hands the workers its address."""
    import uvicorn

    from fastwrap.container.resources import open_database

    with asyncio.Runner() as runner:
        database = open_database(settings)
        dsn, _adapter = runner.run(database.__aenter__())
        os.environ["DATABASE_URL"] = dsn
        try:
            uvicorn.run(**options)
        finally:
            runner.run(database.__aexit__(None, None, None))


# The admin commands: the same use cases as the API, through the same container.
app.add_typer(db_app, name="db", no_args_is_help=True)
app.add_typer(clients_app, name="clients", no_args_is_help=True)
app.add_typer(keys_app, name="keys", no_args_is_help=True)
app.add_typer(characters_app, name="characters", no_args_is_help=True)
app.command()(chat)
app.add_typer(vectors_app, name="vectors", no_args_is_help=True)
app.add_typer(documents_app, name="documents", no_args_is_help=True)
app.command()(health)
app.command()(usage)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
