"""`fastwrap vectors import FILE`: bulk-load a client's snippets from NDJSON, with progress.

The same path as `POST /api/vectors/import` (ImportService): every line is checked first and
the whole file is stored in one step, or nothing is. Then the command puts the rows into the
vector index, with a second bar (a server does it in the background; stopped here, the rows stay
searchable and a server, or the next import, indexes them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fastwrap.domain.imports import ImportResult, split_lines
from fastwrap.entrypoints.cli.console import ClientRef, run
from fastwrap.entrypoints.cli.tenants import find_client

if TYPE_CHECKING:
    from fastwrap.container import Services

vectors_app = typer.Typer(help="Bulk operations on a client's snippets (vector search).")
READ_BYTES = 1024 * 1024


def progress_bar(label: str) -> Progress:
    # On stderr, so stdout carries only the result; a script's log gets the count, not a bar.
    console = Console(stderr=True)
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(READ_BYTES):
            yield chunk


def count_lines(path: Path) -> int:
    with path.open("rb") as source:
        return sum(1 for line in source if line.strip())


async def index_backlog(services: Services) -> int:
    """Index the snippets bulk loads left waiting (graph_worker.py), with a progress bar."""
    waiting = await services.graph_worker.pending()
    if not waiting:
        return 0
    with progress_bar("indexing") as progress:
        task = progress.add_task("index", total=waiting)
        return await services.graph_worker.drain(lambda n: progress.advance(task, n))


async def _import(services: Services, client_ref: str, path: Path) -> ImportResult:
    owner = await find_client(services, client_ref)
    with progress_bar("importing") as progress:
        task = progress.add_task("import", total=count_lines(path))
        result = await services.imports.run(
            owner.id,
            split_lines(file_chunks(path)),
            lambda staged: progress.update(task, completed=staged),
        )
    await index_backlog(services)
    return result


@vectors_app.command("import")
def import_file(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help='NDJSON: one {"entity_type", "entity_id", "content", "metadata"?, '
            '"embedding"?} per line.',
        ),
    ],
    client: ClientRef,
) -> None:
    """Import (upsert) snippets from an NDJSON (JSONL) file into a client's vector store.

    Every line is checked first: one bad line refuses the whole file and imports nothing.
    Lines with an `embedding` (EMBEDDING_DIM numbers) are stored as given; the others are
    embedded. Re-importing is safe: an entity that exists is replaced.
    """
    result = run(lambda services: _import(services, client, file))
    typer.echo(f"imported {result.imported} snippets")
