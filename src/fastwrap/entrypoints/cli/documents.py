"""`fastwrap documents add PATH...`: split and store files as a client's documents, with a
progress bar per file. Each file is processed here and now (no background job), through the
same DocumentService as `POST /api/documents`; then the chunks are put into the vector index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fastwrap.domain.knowledge import FORMAT_OF_EXTENSION, Document, DocumentSource
from fastwrap.entrypoints.cli.console import ClientRef, fail, run
from fastwrap.entrypoints.cli.tenants import find_client
from fastwrap.entrypoints.cli.vectors import index_backlog, progress_bar

if TYPE_CHECKING:
    from fastwrap.container import Services

documents_app = typer.Typer(help="A client's documents (split into searchable snippets).")


def _sources(
    paths: list[Path], entity_type: str, metadata: dict[str, Any], size: int, overlap: int
) -> list[DocumentSource]:
    sources = []
    for path in paths:
        format = FORMAT_OF_EXTENSION.get(path.suffix.lower())
        if format is None:
            fail(f"{path}: the file must be .txt, .md, .html or .pdf")
        sources.append(
            DocumentSource(
                entity_type=entity_type, document_id=path.stem, format=format,
                data=path.read_bytes(), source=path.name, metadata=metadata,
                chunk_size=size, chunk_overlap=overlap,
            )
        )  # fmt: skip
    return sources


async def _add(
    services: Services, client_ref: str, sources: list[DocumentSource]
) -> list[Document]:
    owner = await find_client(services, client_ref)
    stored = []
    with progress_bar("embedding") as bar:
        for source in sources:
            task = bar.add_task(source.document_id, total=None)

            async def progress(done: int, total: int, task: Any = task) -> None:
                bar.update(task, completed=done, total=total)

            stored.append(await services.documents.ingest(owner.id, source, progress))
    await index_backlog(services)
    return stored


@documents_app.command("add")
def add(
    paths: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, readable=True, help="Files.")
    ],
    client: ClientRef,
    entity_type: Annotated[str, typer.Option("--type", "-t", help="Their entity_type.")],
    metadata: Annotated[str, typer.Option(help="A JSON object for every chunk.")] = "{}",
    chunk_size: Annotated[int, typer.Option(min=100, max=8000)] = 1000,
    chunk_overlap: Annotated[int, typer.Option(min=0, max=4000)] = 150,
) -> None:
    """Store .txt, .md, .html and .pdf files as documents named by their file name (without
    its extension); a document that exists is replaced whole."""
    try:
        extra = json.loads(metadata)
    except json.JSONDecodeError:
        fail("--metadata must be a JSON object")
    if not isinstance(extra, dict):
        fail("--metadata must be a JSON object")
    sources = _sources(paths, entity_type, extra, chunk_size, chunk_overlap)
    for document in run(lambda services: _add(services, client, sources)):
        typer.echo(f"{document.document_id}: {document.chunks} chunks")
