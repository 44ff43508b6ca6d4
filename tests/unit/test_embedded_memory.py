"""The embedded server's memory settings, sized from the machine's memory."""

from __future__ import annotations

import pytest

from fastwrap.adapters.postgres.embedded import memory_settings

GIB = 1024**3


@pytest.mark.parametrize(
    ("memory", "buffers", "cache"),
    [
        (512 * 1024**2, 128, 256),  # a small container: PostgreSQL's default, no less
        (8 * GIB, 1024, 4096),
        (24 * GIB, 3072, 12288),
        (256 * GIB, 4096, 131072),  # buffers capped: the machine is shared with FastWrap
    ],
)
def test_buffers_are_an_eighth_and_the_cache_half(memory: int, buffers: int, cache: int) -> None:
    assert memory_settings(memory) == {"shared_buffers": buffers, "effective_cache_size": cache}
