"""Reading a JSONL file of snippets for `fastwrap vectors import`, all-or-nothing.

Every line is checked against the same rules the upsert use case applies, before anything is
sent, so a bad line 3 000 is reported before line 1 is imported. Blank lines are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastwrap.domain.errors import Invalid
from fastwrap.domain.model import SnippetInput
from fastwrap.domain.vectors import MAX_CONTENT, MAX_METADATA_BYTES, check_entity

REQUIRED = ("entity_type", "entity_id", "content")
FIELDS = frozenset((*REQUIRED, "metadata"))


class BadLine(Exception):
    """The file is refused: `number` is the first bad line (1-based)."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"line {number}: {reason}")
        self.number = number
        self.reason = reason


def _fields(number: int, raw: bytes) -> Mapping[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8-sig"))  # tolerate a BOM
    except UnicodeDecodeError:
        raise BadLine(number, "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadLine(number, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, dict):
        raise BadLine(number, "expected a JSON object")
    unknown = sorted(set(value) - FIELDS)
    if unknown:
        raise BadLine(
            number, f"unknown field {unknown[0]!r} (expected {', '.join(sorted(FIELDS))})"
        )
    for name in REQUIRED:
        if not isinstance(value.get(name), str):
            raise BadLine(number, f"{name!r} is required and must be a string")
    metadata = value.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadLine(number, "'metadata' must be a JSON object")
    return value


def parse_line(number: int, raw: bytes) -> SnippetInput:
    fields = _fields(number, raw)
    snippet = SnippetInput(
        entity_type=fields["entity_type"],
        entity_id=fields["entity_id"],
        content=fields["content"],
        metadata=fields.get("metadata") or {},
    )
    try:
        check_entity(snippet.entity_type, snippet.entity_id)
    except Invalid as exc:
        raise BadLine(number, exc.detail) from None
    if not 1 <= len(snippet.content) <= MAX_CONTENT:
        raise BadLine(number, f"content must be 1-{MAX_CONTENT} characters")
    if len(json.dumps(snippet.metadata, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise BadLine(number, f"metadata must be at most {MAX_METADATA_BYTES} bytes of JSON")
    return snippet


def read_snippets(path: Path) -> list[SnippetInput]:
    """Every snippet in the file, in order; raises BadLine for the first bad line."""
    snippets: list[SnippetInput] = []
    first_seen: dict[tuple[str, str], int] = {}
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            snippet = parse_line(number, raw)
            key = (snippet.entity_type, snippet.entity_id)
            if key in first_seen:
                raise BadLine(
                    number, f"{key[0]}/{key[1]} already appears on line {first_seen[key]}"
                )
            first_seen[key] = number
            snippets.append(snippet)
    return snippets
