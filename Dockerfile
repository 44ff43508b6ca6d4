# syntax=docker/dockerfile:1
# The FastWrap API. Built and started by `docker compose up -d` (see docker-compose.yml), or alone:
#   docker build -t fastwrap .
#   docker run -p 8555:8555 -v fastwrap-data:/data fastwrap   # embedded PostgreSQL in /data
# LLM provider extras from pyproject.toml (space-separated), e.g.
#   docker build --build-arg FASTWRAP_EXTRAS="anthropic ollama" -t fastwrap .

# ---- builder: resolve the locked dependencies into /app/.venv with uv ---------------------------
FROM python:3.12-slim AS builder

# Pinned so a rebuild resolves with the uv that wrote uv.lock.
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /uvx /bin/

# Bytecode compiled at build time: the runtime user cannot write __pycache__ next to the code.
# Copy mode: hard links cannot cross from the cache mount into the image layer.
# The runtime stage has this same interpreter at the same path, so the venv stays valid there.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.12 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app
ARG FASTWRAP_EXTRAS=""

# Dependencies alone first: this layer is reused until pyproject.toml or uv.lock changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    set --; for extra in $FASTWRAP_EXTRAS; do set -- "$@" --extra "$extra"; done; \
    uv sync --frozen --no-dev --no-install-project "$@"

COPY pyproject.toml uv.lock README.md ./
COPY src ./src
RUN --mount=type=cache,target=/root/.cache/uv \
    set --; for extra in $FASTWRAP_EXTRAS; do set -- "$@" --extra "$extra"; done; \
    uv sync --frozen --no-dev "$@"

# ---- runtime: the venv and the source, no uv, no build tools ------------------------------------
FROM python:3.12-slim AS runtime

# A fixed uid/gid so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 fastwrap \
    && useradd --system --uid 10001 --gid fastwrap --create-home --home-dir /home/fastwrap \
       --shell /usr/sbin/nologin fastwrap \
    && install -d -o fastwrap -g fastwrap -m 0755 /data /app/logs \
    && install -d -o fastwrap -g fastwrap -m 0700 /run/fastwrap

# FASTWRAP_DATA_DIR holds the embedded PostgreSQL when no DATABASE_URL/POSTGRES_HOST is given;
# XDG_RUNTIME_DIR is where that server keeps its lock file, and must be private to the user.
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FASTWRAP_DATA_DIR=/data \
    LOG_DIR=/app/logs \
    XDG_RUNTIME_DIR=/run/fastwrap \
    HOST=0.0.0.0 \
    PORT=8555

WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /app/src /app/src

USER fastwrap
# Declared after /data is created and chowned, so a fresh named volume inherits that ownership.
VOLUME ["/data"]
EXPOSE 8555

# No curl in the slim image: the venv's python does the probe. /health answers 503 when a
# dependency is down, which urlopen raises on, so the container turns unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8555'), timeout=4)"]

CMD ["fastwrap", "serve"]
