"""`fastwrap db ...`: the schema of the configured database (DATABASE_URL, or the embedded one)."""

from __future__ import annotations

from typing import Annotated

import typer

from fastwrap import library
from fastwrap.entrypoints.cli.console import JsonFlag, load_settings, print_json, run_async

db_app = typer.Typer(help="Database schema: migrate, status, reset the embeddings.")


@db_app.command("migrate")
def migrate() -> None:
    """Apply pending migrations (start-up does this too); a second run changes nothing."""
    settings = load_settings()
    applied = run_async(library.migrate(settings), settings)
    where = library.database_label(settings)
    if not applied:
        typer.echo(f"{where} is up to date")
        return
    for name in applied:
        typer.echo(f"applied {name}")
    typer.echo(f"{where} is up to date")


@db_app.command("status")
def status(as_json: JsonFlag = False) -> None:
    """Show applied migrations (with dates) and pending ones; changes nothing."""
    settings = load_settings()
    state = run_async(library.migration_status(settings), settings)
    if as_json:
        print_json(
            {
                "applied": [
                    {"version": m.version, "name": m.name, "applied_at": m.applied_at.isoformat()}
                    for m in state.applied
                ],
                "pending": [{"version": m.version, "name": m.name} for m in state.pending],
            }
        )
        return
    typer.echo(library.database_label(settings))
    for done in state.applied:
        stamp = done.applied_at.isoformat(timespec="seconds")
        typer.echo(f"  applied  {done.version:04d}_{done.name}  {stamp}")
    for todo in state.pending:
        typer.echo(f"  pending  {todo.version:04d}_{todo.name}")
    typer.echo(f"{len(state.pending)} pending" if state.pending else "up to date")


@db_app.command("reset-embeddings")
def reset_embeddings(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every stored snippet and resize the vector column to EMBEDDING_DIM.

    For after an EMBEDDING_DIM change: import the snippets again afterwards.
    """
    settings = load_settings()
    if not yes:
        typer.confirm(
            f"delete every snippet of every client and use {settings.embedding_dim} dimensions?",
            abort=True,
        )
    deleted = run_async(library.reset_embeddings(settings), settings)
    typer.echo(
        f"deleted {deleted} snippets; vectors now have {settings.embedding_dim} dimensions. "
        "Import the snippets again with `fastwrap vectors import`."
    )
