"""LangSmith tracing, switched on only when a key is configured (SPEC §2).

LangChain reads its tracing switches from the environment, so this sets them once at start-up.
Runs are sent from LangChain's background callback thread: a slow or failing LangSmith never
fails or slows a request.
"""

from __future__ import annotations

import os
from typing import Any, cast

_SWITCHES = ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2")
_KEYS = ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")


def configure_tracing(api_key: str | None, enabled: bool) -> bool:
    """Turn tracing on iff a key is set and `enabled`; return whether it is on.

    When off, the switches are set to false explicitly, so that a stray LANGSMITH_TRACING=true
    without a key cannot make LangChain try (and log failures) on every call.
    """
    on = bool(api_key) and enabled
    for name in _SWITCHES:
        os.environ[name] = "true" if on else "false"
    if on and api_key:
        for name in _KEYS:
            os.environ[name] = api_key
        # Never block a request on the trace upload (LangChain's default, pinned on purpose).
        os.environ["LANGCHAIN_CALLBACKS_BACKGROUND"] = "true"
    _forget_cached_environment()
    return on


def _forget_cached_environment() -> None:
    # langsmith memoises its environment reads; without this a change made after the first
    # traced call would be ignored.
    from langsmith import utils

    cast(Any, utils.get_env_var).cache_clear()  # typed as an overload, but it is lru_cached
    utils.get_tracer_project.cache_clear()
