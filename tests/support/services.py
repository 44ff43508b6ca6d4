"""Missing real services skip locally and fail in CI (FASTWRAP_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import os
from typing import Any, NoReturn

import pytest


def services_required() -> bool:
    return os.environ.get("FASTWRAP_REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}


def service_missing(reason: str) -> NoReturn:
    if services_required():
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


def integration(backend: str) -> Any:
    """A fixture parameter for a backend that needs a real service: marked `integration`, so
    that `pytest -m "not integration"` runs with no PostgreSQL and no Redis at all."""
    return pytest.param(backend, marks=pytest.mark.integration, id=backend)
