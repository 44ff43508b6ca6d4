"""Snippets: batched upsert, semantic search, delete."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request, Response

from fastwrap.domain.errors import Invalid
from fastwrap.domain.imports import split_lines
from fastwrap.domain.model import Snippet, SnippetInput
from fastwrap.entrypoints.http.deps import ReadCaller, WriteCaller
from fastwrap.entrypoints.http.errors import COMMON, documented
from fastwrap.entrypoints.http.responses import json_body, ok, plain_ok
from fastwrap.entrypoints.http.schemas import (
    ENTITY_ID,
    ENTITY_TYPE,
    Envelope,
    HitOut,
    ImportOut,
    SearchIn,
    SnippetOut,
    UpsertIn,
)

router = APIRouter(prefix="/api/vectors", tags=["vectors"], responses=documented(*COMMON, 401, 403))


def _inputs(body: UpsertIn) -> list[SnippetInput]:
    if body.items is not None:
        if body.entity_type or body.entity_id or body.content:
            raise Invalid("send either one snippet inline or a list in items, not both")
        return [
            SnippetInput(
                entity_type=i.entity_type,
                entity_id=i.entity_id,
                content=i.content,
                metadata=i.metadata or {},
            )
            for i in body.items
        ]
    if not (body.entity_type and body.entity_id and body.content):
        raise Invalid("entity_type, entity_id and content are required (or items)")
    return [
        SnippetInput(
            entity_type=body.entity_type,
            entity_id=body.entity_id,
            content=body.content,
            metadata=body.metadata or {},
        )
    ]


def snippet_out(s: Snippet) -> SnippetOut:
    return SnippetOut(
        id=s.id,
        entity_type=s.entity_type,
        entity_id=s.entity_id,
        content=s.content,
        metadata=dict(s.metadata),
        created_at=s.created_at,
        updated_at=s.updated_at,
    )


@router.post("/upsert", status_code=201, responses=documented(502, 504))
async def upsert(body: UpsertIn, caller: WriteCaller) -> Envelope[SnippetOut | list[SnippetOut]]:
    stored = await caller.services.vectors.upsert(caller.client.id, _inputs(body))
    if body.items is None:
        return ok("snippet stored", snippet_out(stored[0]))
    return ok(f"{len(stored)} snippets stored", [snippet_out(s) for s in stored])


@router.post("/search", response_model=Envelope[list[HitOut]], responses=documented(502, 504))
async def search(body: SearchIn, caller: ReadCaller) -> Response:
    hits = await caller.services.vectors.search(
        caller.client.id,
        body.query,
        top_k=body.top_k,
        entity_types=[body.entity_type] if body.entity_type else None,
        metadata=body.metadata,
        mode=body.mode,
    )
    # Serialised by orjson, not validated again against the response model: on a search that
    # takes a few ms of the database, building and dumping the models was ~0.3 ms of CPU.
    message, plain = f"{len(hits)} hits", [HitOut.plain(h) for h in hits]
    try:
        return plain_ok(message, plain)
    except TypeError:  # metadata holding an integer beyond 64 bits, which orjson refuses
        return json_body(ok(message, [HitOut.model_validate(h) for h in plain]))


NDJSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-ndjson": {
                "schema": {"type": "string"},
                "example": '{"entity_type": "faq", "entity_id": "q1", "content": "...", '
                '"metadata": {}, "embedding": [0.1, 0.2]}\n',
            }
        },
    }
}


@router.post(
    "/import", status_code=201, responses=documented(413, 502, 504), openapi_extra=NDJSON_BODY
)
async def import_snippets(request: Request, caller: WriteCaller) -> Envelope[ImportOut]:
    """Bulk upsert from NDJSON (up to IMPORT_MAX_BYTES), all-or-nothing: one snippet per
    line, each with its `embedding` (EMBEDDING_DIM numbers) or without (FastWrap embeds it).
    A bad line is a 422 naming it, and nothing is stored."""
    lines = split_lines(request.stream())
    result = await caller.services.imports.run(caller.client.id, lines)
    out = ImportOut(imported=result.imported, embedded=result.embedded)
    return ok(f"{result.imported} snippets imported", out)


@router.delete("/{entity_type}/{entity_id}", status_code=204, responses=documented(404))
async def delete(
    caller: WriteCaller,
    entity_type: str = Path(pattern=ENTITY_TYPE),
    entity_id: str = Path(pattern=ENTITY_ID),
) -> Response:
    await caller.services.vectors.delete(caller.client.id, entity_type, entity_id)
    return Response(status_code=204)
