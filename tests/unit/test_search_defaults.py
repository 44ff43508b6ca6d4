"""The search defaults agree wherever they are written."""

from __future__ import annotations

import pytest

from fastwrap.adapters.postgres.vectors import DEFAULT_EF_SEARCH
from fastwrap.settings import Settings


def test_the_settings_default_ef_search_is_the_adapters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VECTOR_EF_SEARCH", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.vector_ef_search == DEFAULT_EF_SEARCH == 300
