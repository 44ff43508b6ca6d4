"""The security suite runs the real app in-process, on the memory adapters and on PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.app import app_client, hermetic_settings

# Every logger a request can write to: ours, and the server's when a test runs uvicorn.
LOGGERS = ("fastwrap", "uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything logged, at DEBUG. The handler sits on each logger itself, so a logger that
    stopped propagating (configure_logging does that to `fastwrap`) is still captured."""
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    try:
        yield caplog
    finally:
        for logger, level in saved:
            logger.removeHandler(caplog.handler)
            logger.setLevel(level)


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    """Each record as formatted, with its arguments and any traceback."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


@pytest.fixture
async def memory_api() -> AsyncIterator[httpx.AsyncClient]:
    """For limits enforced before any adapter is reached: one backend is enough."""
    async with app_client(hermetic_settings()) as client:
        yield client
