"""Bodies of the documents and jobs routes, and reading an upload (JSON or multipart)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import PurePath
from typing import Any, Literal
from uuid import UUID

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile

from fastwrap.domain.errors import Invalid
from fastwrap.domain.knowledge import (
    FORMAT_OF_EXTENSION,
    Document,
    DocumentFormat,
    DocumentSource,
    Job,
)
from fastwrap.entrypoints.http.json_types import JsonInt, Metadata
from fastwrap.entrypoints.http.schemas import ENTITY_TYPE

DOCUMENT_ID = r"^[A-Za-z0-9._:@-]{1,120}$"


class DocumentFields(BaseModel):
    entity_type: str = Field(pattern=ENTITY_TYPE)
    document_id: str = Field(pattern=DOCUMENT_ID)
    metadata: Metadata | None = None
    chunk_size: JsonInt = Field(default=1000, ge=100, le=8000)
    chunk_overlap: JsonInt = Field(default=150, ge=0, le=4000)


class DocumentIn(DocumentFields):
    """A document sent as JSON text; files come as multipart/form-data instead."""

    content: str = Field(min_length=1)
    format: Literal["text", "markdown", "html"] = "text"


class DocumentOut(BaseModel):
    id: UUID
    entity_type: str
    document_id: str
    format: str
    source: str | None
    metadata: dict[str, Any]
    chunks: int
    characters: int
    chunk_size: int
    chunk_overlap: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, d: Document) -> DocumentOut:
        return cls(
            id=d.id, entity_type=d.entity_type, document_id=d.document_id, format=d.format,
            source=d.source, metadata=dict(d.metadata), chunks=d.chunks,
            characters=d.characters, chunk_size=d.chunk_size, chunk_overlap=d.chunk_overlap,
            created_at=d.created_at, updated_at=d.updated_at,
        )  # fmt: skip


class ProgressOut(BaseModel):
    done: int
    total: int


class JobOut(BaseModel):
    id: UUID
    kind: str
    status: Literal["queued", "running", "succeeded", "failed"]
    progress: ProgressOut
    error: str | None
    result: dict[str, Any] | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, j: Job) -> JobOut:
        return cls(
            id=j.id, kind=j.kind, status=j.status, progress=ProgressOut(done=j.done, total=j.total),
            error=j.error, result=dict(j.result) if j.result is not None else None,
            attempts=j.attempts, created_at=j.created_at, updated_at=j.updated_at,
            finished_at=j.finished_at,
        )  # fmt: skip


def _source(
    fields: DocumentFields, data: bytes, format: DocumentFormat, name: str | None
) -> DocumentSource:
    return DocumentSource(
        entity_type=fields.entity_type, document_id=fields.document_id, format=format,
        data=data, source=name, metadata=fields.metadata or {}, chunk_size=fields.chunk_size,
        chunk_overlap=fields.chunk_overlap,
    )  # fmt: skip


def _validated[M: BaseModel](model: type[M], values: Any) -> M:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None


async def read_upload(request: Request) -> DocumentSource:
    """The document of a JSON body (`content`) or of a multipart form (`file` + fields)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _read_form(request)
    try:
        values = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Invalid("the body must be JSON or multipart/form-data") from exc
    body = _validated(DocumentIn, values)
    if "\x00" in body.content:
        raise Invalid("content cannot contain NUL characters")
    return _source(body, body.content.encode("utf-8", "surrogatepass"), body.format, None)


async def _read_form(request: Request) -> DocumentSource:
    form = await request.form(max_files=1, max_fields=16)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise Invalid("a multipart upload needs a `file` part")
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        if "metadata" in values:
            values["metadata"] = json.loads(values["metadata"])
        for name in ("chunk_size", "chunk_overlap"):
            if name in values:
                values[name] = int(values[name])
    except ValueError as exc:
        raise Invalid("metadata must be a JSON object; chunk sizes whole numbers") from exc
    fields = _validated(DocumentFields, values)
    file_name = PurePath(upload.filename or "").name or None
    format = FORMAT_OF_EXTENSION.get(PurePath(file_name or "").suffix.lower())
    if format is None:
        raise Invalid("the file must be .txt, .md, .html or .pdf")
    return _source(fields, await upload.read(), format, file_name)
