"""The import stages its rows in batches: the first bad line by number is the one named,
whichever check finds it and wherever a batch ends, and nothing is stored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable

import pytest

from fastwrap.adapters.clock import SystemClock
from fastwrap.adapters.langchain.hashing import HASHING_MODEL, HashingEmbedder
from fastwrap.adapters.memory.repositories import memory_storage
from fastwrap.domain.imports import (
    MAX_LINE_BYTES,
    STAGE_ROWS,
    BadLine,
    ImportService,
    split_lines,
)
from tests.contract import seeds
from tests.contract.test_vector_index import T0, found, query

DIM = 4


def good(n: int) -> bytes:
    row = {"entity_type": "doc", "entity_id": f"e{n}", "content": f"row {n}"}
    return json.dumps({**row, "embedding": [1.0, 0.5, 0.25, float(n)]}).encode()


async def body(lines: Iterable[bytes]) -> AsyncIterator[bytes]:
    yield b"\n".join(lines)


async def refused(lines: list[bytes]) -> BadLine:
    storage = memory_storage()
    owner = await seeds.add_client(storage, T0)
    service = ImportService(
        loader=storage.snippet_loader, embedder=HashingEmbedder(DIM), clock=SystemClock()
    )
    with pytest.raises(BadLine) as refusal:
        await service.run(owner, split_lines(body(lines)))
    search = query(owner, model=HASHING_MODEL, mode="keyword", text="row")
    assert await found(storage, search) == []  # nothing was stored
    return refusal.value


@pytest.mark.parametrize("at", [3, STAGE_ROWS - 1, STAGE_ROWS, STAGE_ROWS + 1])
async def test_a_repeated_key_before_a_bad_line_of_the_same_batch_is_named(at: int) -> None:
    lines = [good(n) for n in range(2 * STAGE_ROWS)]
    lines[at] = good(0)  # repeats line 1
    lines[at + 2] = b"{oops"

    assert (await refused(lines)).number == at + 1


async def test_a_bad_line_before_one_too_long_is_named() -> None:
    lines = [good(n) for n in range(10)]
    lines[4] = b"{oops"
    lines.append(b"x" * (MAX_LINE_BYTES + 1))

    refusal = await refused(lines)
    assert (refusal.number, refusal.reason.startswith("not valid JSON")) == (5, True)


async def test_a_line_too_long_after_good_lines_is_named() -> None:
    lines = [*(good(n) for n in range(STAGE_ROWS + 3)), b"x" * (MAX_LINE_BYTES + 1)]

    assert (await refused(lines)).number == STAGE_ROWS + 4
