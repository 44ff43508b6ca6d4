"""Bulk import of a tenant's snippets from NDJSON, all-or-nothing (SPEC §15).

One JSON object per line: `entity_type`, `entity_id`, `content`, optional `metadata` (object or
null) and optional `embedding` (EMBEDDING_DIM finite numbers, from the current embedding
model). Every line is checked as it arrives and the rows go to a staging area that nothing can
see; the lines without an embedding are embedded only once every line has passed, in
concurrent batches; then one step publishes everything. A bad line (its number is in the
error) or a failed embedding discards the lot. Blank lines are skipped; a BOM is tolerated.
"""

from __future__ import annotations

import asyncio
import json
import math
from array import array
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastwrap.domain.errors import Invalid
from fastwrap.domain.jobs import Doorbell
from fastwrap.domain.model import EmbeddedSnippet, SnippetInput
from fastwrap.domain.vectors import (
    MAX_CONTENT,
    MAX_METADATA_BYTES,
    MAX_METADATA_DEPTH,
    check_entity,
)
from fastwrap.ports.bulk import BulkSnippetLoader, SnippetStaging
from fastwrap.ports.clock import Clock
from fastwrap.ports.embeddings import Embedder

REQUIRED = ("entity_type", "entity_id", "content")
FIELDS = frozenset((*REQUIRED, "metadata", "embedding"))
MAX_LINE_BYTES = 4 * 1024 * 1024  # a 16,000-dimension embedding and 32,000 characters fit
STAGE_ROWS = 1000  # rows handed to the staging area at a time
EMBED_GROUP = 500  # texts per embedder call (the embedder batches and parallelises within)
EMBED_CALLS = 2  # embedder calls in flight at once


class BadLine(Invalid):
    """The import is refused: `number` is the bad line (1-based)."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"line {number}: {reason}; nothing was imported")
        self.number = number
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ImportLine:
    snippet: SnippetInput
    embedding: array[float] | None


@dataclass(frozen=True, slots=True)
class ImportResult:
    imported: int
    embedded: int  # of which FastWrap embedded (the others came with their embedding)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number PostgreSQL can store")


type JsonDecoder = Callable[[bytes], object]


def decode_json(raw: bytes) -> object:
    """A line's JSON value, as the import reads it: UTF-8 with an optional BOM, integers of any
    size kept exact, NaN and Infinity refused. A faster decoder (the container's) must give the
    same values, and leave to this one every line it does not take whole."""
    return json.loads(raw.decode("utf-8-sig"), parse_constant=_no_constant)


def _fields(raw: bytes, decode: JsonDecoder = decode_json) -> Mapping[str, Any]:
    try:
        value = decode(raw)
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    unknown = sorted(set(value) - FIELDS)
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (expected {', '.join(sorted(FIELDS))})")
    for name in REQUIRED:
        if not isinstance(value.get(name), str):
            raise ValueError(f"{name!r} is required and must be a string")
    if value.get("metadata") is not None and not isinstance(value["metadata"], dict):
        raise ValueError("'metadata' must be a JSON object")
    return value


_NUMBERS = frozenset((int, float))


def _embedding(value: object, dimensions: int) -> array[float] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != dimensions:
        raise ValueError(f"'embedding' must be a list of {dimensions} numbers (EMBEDDING_DIM)")
    if not set(map(type, value)) <= _NUMBERS:  # true and false are not numbers here
        raise ValueError("'embedding' must hold finite numbers only")
    try:
        vector = array("f", value)
    except OverflowError:  # an integer beyond any double
        raise ValueError("'embedding' holds numbers too large for a 32-bit float") from None
    # float32s sum to a finite double exactly when each is finite (their sum cannot overflow
    # one): one pass in C instead of a check per number.
    if not math.isfinite(sum(vector)):
        if not all(math.isfinite(x) for x in value):
            raise ValueError("'embedding' must hold finite numbers only")
        raise ValueError("'embedding' holds numbers too large for a 32-bit float")
    return vector


def _check_text(snippet: SnippetInput) -> None:
    check_entity(snippet.entity_type, snippet.entity_id)
    if not 1 <= len(snippet.content) <= MAX_CONTENT:
        raise ValueError(f"content must be 1-{MAX_CONTENT} characters")
    if "\x00" in snippet.content:
        raise ValueError("content cannot contain NUL characters")
    text = json.dumps(snippet.metadata, ensure_ascii=False)
    if "\\u0000" in text:
        raise ValueError("metadata cannot contain NUL characters")
    try:
        snippet.content.encode()
        size = len(text.encode())
    except UnicodeEncodeError:
        raise ValueError("text is not valid Unicode (a lone surrogate)") from None
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"metadata must be at most {MAX_METADATA_BYTES} bytes of JSON")
    if _depth(snippet.metadata) > MAX_METADATA_DEPTH:
        raise ValueError(f"metadata must be nested at most {MAX_METADATA_DEPTH} levels deep")


def _depth(value: object) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        pending.extend((child, depth + 1) for child in children)
    return deepest


def parse_line(
    number: int, raw: bytes, dimensions: int, decode: JsonDecoder = decode_json
) -> ImportLine:
    """One line, checked against the upsert rules; BadLine names the line and the rule."""
    try:
        fields = _fields(raw, decode)
        snippet = SnippetInput(
            entity_type=fields["entity_type"],
            entity_id=fields["entity_id"],
            content=fields["content"],
            metadata=fields.get("metadata") or {},
        )
        _check_text(snippet)
        return ImportLine(snippet, _embedding(fields.get("embedding"), dimensions))
    except Invalid as exc:
        raise BadLine(number, exc.detail) from None
    except ValueError as exc:
        raise BadLine(number, str(exc)) from None


async def split_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The lines of a byte stream (without their ends); a line over MAX_LINE_BYTES is refused."""
    pending = b""
    number = 0
    async for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            number += 1
            yield line
        if len(pending) > MAX_LINE_BYTES:
            raise BadLine(number + 1, f"longer than {MAX_LINE_BYTES} bytes")
    if pending:
        yield pending


class ImportService:
    def __init__(
        self,
        *,
        loader: BulkSnippetLoader,
        embedder: Embedder,
        clock: Clock,
        decode: JsonDecoder = decode_json,
        graph_doorbell: Doorbell | None = None,
    ) -> None:
        """`decode`: how a line's JSON is read (`decode_json`'s values, faster if need be).
        `graph_doorbell` is rung once an import is published: its rows wait for the graph
        workers (domain.graph_worker) to index them, searchable meanwhile."""
        self._loader = loader
        self._embedder = embedder
        self._clock = clock
        self._decode = decode
        self._graph_doorbell = graph_doorbell

    async def run(
        self,
        client_id: UUID,
        lines: AsyncIterable[bytes],
        progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Import every line or none; `progress` hears how many rows were staged so far."""
        report = progress or (lambda _count: None)
        async with self._loader.staging(client_id) as staging:
            to_embed, staged = await self._stage_given(client_id, lines, staging, report)
            if not to_embed and not staged:
                raise Invalid("the import holds no snippets; nothing was imported")
            await self._stage_embedded(client_id, to_embed, staging, staged, report)
            imported = await staging.publish(self._clock.now())
        if self._graph_doorbell is not None:
            self._graph_doorbell.ring()
        return ImportResult(imported=imported, embedded=len(to_embed))

    def _row(
        self, client_id: UUID, snippet: SnippetInput, vector: Sequence[float]
    ) -> EmbeddedSnippet:
        return EmbeddedSnippet(
            client_id=client_id,
            entity_type=snippet.entity_type,
            entity_id=snippet.entity_id,
            content=snippet.content,
            metadata=dict(snippet.metadata),
            embedding=vector,
            model=self._embedder.model,
        )

    async def _stage_given(
        self,
        client_id: UUID,
        lines: AsyncIterable[bytes],
        staging: SnippetStaging,
        report: Callable[[int], None],
    ) -> tuple[list[SnippetInput], int]:
        """Check every line; stage those with an embedding, keep the others for later."""
        first_seen: dict[tuple[str, str], int] = {}
        to_embed: list[SnippetInput] = []
        rows: list[EmbeddedSnippet] = []
        staged = 0
        number = 0
        async for raw in lines:
            number += 1
            if not raw.strip():
                continue
            line = parse_line(number, raw, self._embedder.dimensions, self._decode)
            key = (line.snippet.entity_type, line.snippet.entity_id)
            if key in first_seen:
                raise BadLine(
                    number, f"{key[0]}/{key[1]} already appears on line {first_seen[key]}"
                )
            first_seen[key] = number
            if line.embedding is None:
                to_embed.append(line.snippet)
                continue
            rows.append(self._row(client_id, line.snippet, line.embedding))
            if len(rows) >= STAGE_ROWS:
                await staging.add(rows)
                staged += len(rows)
                report(staged)
                rows = []
        if rows:
            await staging.add(rows)
            staged += len(rows)
            report(staged)
        return to_embed, staged

    async def _stage_embedded(
        self,
        client_id: UUID,
        snippets: list[SnippetInput],
        staging: SnippetStaging,
        staged: int,
        report: Callable[[int], None],
    ) -> None:
        limit = asyncio.Semaphore(EMBED_CALLS)
        done = staged

        async def one_group(group: list[SnippetInput]) -> list[EmbeddedSnippet]:
            async with limit:
                vectors = await self._embedder.embed([s.content for s in group])
            return [
                self._row(client_id, s, array("f", v)) for s, v in zip(group, vectors, strict=True)
            ]

        groups = [snippets[i : i + EMBED_GROUP] for i in range(0, len(snippets), EMBED_GROUP)]
        for start in range(0, len(groups), EMBED_CALLS):
            wave = await asyncio.gather(*map(one_group, groups[start : start + EMBED_CALLS]))
            for rows in wave:
                await staging.add(rows)
                done += len(rows)
                report(done)
