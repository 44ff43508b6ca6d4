"""Entities of knowledge at document scale: documents, their sources, background jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from fastwrap.domain.model import JsonObject

type DocumentFormat = Literal["text", "markdown", "html", "pdf"]
DOCUMENT_FORMATS: tuple[DocumentFormat, ...] = ("text", "markdown", "html", "pdf")
# What a file's extension says it holds.
FORMAT_OF_EXTENSION: dict[str, DocumentFormat] = {
    ".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html", ".pdf": "pdf",
}  # fmt: skip
type JobStatus = Literal["queued", "running", "succeeded", "failed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentSource:
    """An upload: the raw bytes (UTF-8 text, or a PDF) and how to split them."""

    entity_type: str
    document_id: str
    format: DocumentFormat
    data: bytes
    source: str | None = None  # the uploaded file's name
    metadata: JsonObject
    chunk_size: int = 1000
    chunk_overlap: int = 150


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """A stored document; its chunks are snippets `document_id#0` ... `document_id#(chunks-1)`."""

    id: UUID
    client_id: UUID
    entity_type: str
    document_id: str
    format: DocumentFormat
    source: str | None
    metadata: JsonObject
    chunks: int
    characters: int
    chunk_size: int
    chunk_overlap: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """Background work as its owner sees it. `done`/`total`: progress in the job's own units
    (a document's chunks embedded); `result` once it succeeded, `error` once it failed."""

    id: UUID
    client_id: UUID
    kind: str
    status: JobStatus
    done: int
    total: int
    error: str | None
    result: JsonObject | None
    attempts: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewJob:
    id: UUID
    client_id: UUID
    kind: str
    payload: JsonObject
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimedJob:
    """A job a worker holds (its lease), with what it needs to do the work."""

    job: Job
    payload: JsonObject
    data: bytes
