"""`fastwrap vectors import FILE`: bulk-load a client's snippets from JSONL, with progress."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fastwrap.domain.errors import DomainError
from fastwrap.domain.model import SnippetInput
from fastwrap.domain.vectors import MAX_BATCH
from fastwrap.entrypoints.cli.console import ClientRef, fail, run
from fastwrap.entrypoints.cli.snippet_file import BadLine, read_snippets
from fastwrap.entrypoints.cli.tenants import find_client

if TYPE_CHECKING:
    from fastwrap.container import Services

vectors_app = typer.Typer(help="Bulk operations on a client's snippets (vector search).")


@dataclass(frozen=True, slots=True)
class Outcome:
    imported: int
    error: DomainError | None = None


def _progress() -> Progress:
    # On stderr, so stdout carries only the result; a script's log gets the count, not a bar.
    console = Console(stderr=True)
    return Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


async def _import(
    services: Services, client_ref: str, snippets: list[SnippetInput], batch: int
) -> Outcome:
    owner = await find_client(services, client_ref)
    imported = 0
    with _progress() as progress:
        task = progress.add_task("import", total=len(snippets))
        for start in range(0, len(snippets), batch):
            chunk = snippets[start : start + batch]
            try:
                await services.vectors.upsert(owner.id, chunk)
            except DomainError as exc:
                return Outcome(imported, exc)
            imported += len(chunk)
            progress.advance(task, len(chunk))
    return Outcome(imported)


@vectors_app.command("import")
def import_file(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help='JSONL: one {"entity_type", "entity_id", "content", "metadata"?} per line.',
        ),
    ],
    client: ClientRef,
    batch_size: Annotated[
        int, typer.Option(min=1, max=MAX_BATCH, help="Snippets embedded per call.")
    ] = MAX_BATCH,
) -> None:
    """Import (upsert) snippets from a JSONL file into a client's vector store.

    Every line is checked first: one bad line refuses the whole file and imports nothing.
    Re-importing is safe: an entity that exists is replaced.
    """
    try:
        snippets = read_snippets(file)
    except BadLine as exc:
        fail(f"{file}: {exc}; nothing was imported")
    if not snippets:
        fail(f"{file} holds no snippets")
    outcome = run(lambda services: _import(services, client, snippets, batch_size))
    if outcome.error is not None:
        # Batches are atomic: everything before the failed batch is stored, nothing after it.
        fail(
            f"{outcome.error.detail}; stored the first {outcome.imported} of {len(snippets)} "
            "snippets; importing the file again is safe (it replaces them)"
        )
    typer.echo(f"imported {outcome.imported} snippets")
