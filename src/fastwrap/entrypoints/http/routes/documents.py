"""Documents (split into snippets, replaced whole) and the background jobs of large ones."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from fastwrap.domain.knowledge import Document
from fastwrap.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from fastwrap.entrypoints.http.deps import ReadCaller, WriteCaller
from fastwrap.entrypoints.http.document_schemas import (
    DOCUMENT_ID,
    DocumentIn,
    DocumentOut,
    JobOut,
    read_upload,
)
from fastwrap.entrypoints.http.errors import COMMON, documented
from fastwrap.entrypoints.http.responses import ok
from fastwrap.entrypoints.http.schemas import ENTITY_TYPE, Envelope, Items

router = APIRouter(tags=["documents"], responses=documented(*COMMON, 401, 403))

UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "entity_type", "document_id"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "entity_type": {"type": "string", "pattern": ENTITY_TYPE},
                        "document_id": {"type": "string", "pattern": DOCUMENT_ID},
                        "metadata": {"type": "string", "description": "a JSON object"},
                        "chunk_size": {"type": "integer", "minimum": 100, "maximum": 8000},
                        "chunk_overlap": {"type": "integer", "minimum": 0, "maximum": 4000},
                    },
                }
            },
        },
    }
}


@router.post(
    "/api/documents",
    status_code=201,
    response_model=Envelope[DocumentOut],
    responses={
        202: {"model": Envelope[JobOut], "description": "Queued as a background job"},
        **documented(413, 502, 504),
    },
    openapi_extra=UPLOAD,
)
async def add_document(request: Request, caller: WriteCaller) -> Response:
    """Split a text, markdown, HTML or PDF document into snippets `document_id#n` and store
    them, replacing any earlier version whole. Over DOCUMENT_INLINE_MAX_BYTES: 202 and a job
    (`GET /api/jobs/{id}`)."""
    outcome = await caller.services.documents.add(caller.client.id, await read_upload(request))
    if isinstance(outcome, Document):
        body = ok(f"document stored in {outcome.chunks} chunks", DocumentOut.of(outcome))
        return JSONResponse(body.model_dump(mode="json"), status_code=201)
    queued = ok("document queued", JobOut.of(outcome))
    headers = {"Location": f"/api/jobs/{outcome.id}"}
    return JSONResponse(queued.model_dump(mode="json"), status_code=202, headers=headers)


@router.get("/api/documents")
async def list_documents(
    caller: ReadCaller,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Envelope[Items[DocumentOut]]:
    page = await caller.services.documents.list_page(caller.client.id, limit=limit, cursor=cursor)
    items = [DocumentOut.of(d) for d in page.items]
    return ok(f"{len(items)} documents", Items(items=items, next_cursor=page.next_cursor))


@router.delete(
    "/api/documents/{entity_type}/{document_id}", status_code=204, responses=documented(404)
)
async def delete_document(
    caller: WriteCaller,
    entity_type: str = Path(pattern=ENTITY_TYPE),
    document_id: str = Path(pattern=DOCUMENT_ID),
) -> Response:
    await caller.services.documents.delete(caller.client.id, entity_type, document_id)
    return Response(status_code=204)


@router.get("/api/jobs/{job_id}", responses=documented(404))
async def get_job(job_id: UUID, caller: ReadCaller) -> Envelope[JobOut]:
    job = await caller.services.jobs.get(caller.client.id, job_id)
    return ok(f"job {job.status}", JobOut.of(job))
