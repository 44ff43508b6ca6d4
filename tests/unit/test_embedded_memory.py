"""The embedded server's memory settings, sized from the machine's memory."""

from __future__ import annotations

import pytest

from fastwrap.adapters.postgres.embedded import memory_settings

GIB = 1024**3


@pytest.mark.parametrize(
    ("memory", "buffers", "cache", "maintenance"),
    [
        (512 * 1024**2, 128, 256, 64),  # a small container: PostgreSQL's defaults, no less
        (8 * GIB, 1024, 4096, 512),
        (24 * GIB, 3072, 12288, 1536),
        (256 * GIB, 4096, 131072, 2048),  # capped: the machine is shared with FastWrap
    ],
)
def test_buffers_are_an_eighth_the_cache_half_and_index_builds_a_sixteenth(
    memory: int, buffers: int, cache: int, maintenance: int
) -> None:
    assert memory_settings(memory) == {
        "shared_buffers": buffers,
        "effective_cache_size": cache,
        "maintenance_work_mem": maintenance,
    }
