"""OpenTelemetry tracing (SPEC §14), opt-in: nothing imports OpenTelemetry unless it is configured.

The packages are the `otel` extra; `tracing.py` and `chat_model.py` import them at their top,
so the container imports those modules only after `require_packages` has passed.
"""

from __future__ import annotations

import importlib

from fastwrap.domain.errors import ConfigurationError

PACKAGES = (
    "opentelemetry.sdk.trace",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.instrumentation.asyncpg",
    "opentelemetry.instrumentation.redis",
)


def require_packages() -> None:
    """Raise one line naming the extra to install when a tracing package is missing."""
    for module in PACKAGES:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigurationError(
                f"OTEL_EXPORTER_OTLP_ENDPOINT is set but {module} cannot be imported; "
                "install the tracing packages with `uv sync --extra otel` "
                "or `pip install fastwrap[otel]`"
            ) from exc
