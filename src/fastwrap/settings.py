"""Configuration from the environment and `.env` (SPEC §2). Read by the container only.

Every value is checked when Settings is built, so bad configuration stops start-up with one line
naming the variable instead of surfacing later as a 500.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fastwrap.domain.errors import Invalid
from fastwrap.domain.model import RateLimit

WEAK_SERVICE_KEYS = {"1234", "changeme", "secret", "password", "fastwrap"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        case_sensitive=False,
    )

    # service
    fastwrap_env: Literal["production", "development"] = "production"
    fastwrap_api_key: SecretStr | None = None
    fastwrap_storage: Literal["postgres", "memory"] = "postgres"
    fastwrap_data_dir: Path = Path(".fastwrap")
    host: str = "0.0.0.0"
    port: int = Field(default=8555, ge=1, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    max_header_bytes: int = Field(default=32_768, ge=1024)
    # A body that has not fully arrived by then gets a 408 (slow-loris protection).
    request_body_timeout_seconds: float = Field(default=30.0, gt=0)
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    # Bulk bodies (SPEC §15): NDJSON imports and document uploads, with their own deadline.
    import_max_bytes: int = Field(default=1_073_741_824, ge=1024)
    document_max_bytes: int = Field(default=20_971_520, ge=1024)
    bulk_body_timeout_seconds: float = Field(default=3600.0, gt=0)
    # Documents larger than this are processed in the background (202 and a job).
    document_inline_max_bytes: int = Field(default=262_144, ge=0)
    # A background job's lease: a worker that stops renewing it for this long is presumed dead.
    job_lease_seconds: float = Field(default=30.0, ge=1)
    job_poll_seconds: float = Field(default=1.0, gt=0)

    # PostgreSQL
    database_url: str | None = None
    postgres_host: str | None = None
    postgres_port: int = 5432
    postgres_db: str = "fastwrap"
    postgres_user: str = "postgres"
    postgres_pw: SecretStr | None = None
    db_pool_min: int = Field(default=2, ge=1)
    db_pool_max: int = Field(default=10, ge=1)
    # HNSW candidate list per search: higher is better recall, slower searches.
    vector_ef_search: int = Field(default=300, ge=10, le=1000)
    # Connections that put bulk-loaded snippets into the HNSW index at once (graph_worker.py);
    # never more than half of DB_POOL_MAX, so requests always find a connection. 0: this
    # process leaves it to other replicas.
    vector_index_workers: int = Field(default=2, ge=0, le=32)
    # Key and character lookups kept in memory, dropped on the database's change notices;
    # 0 asks the database on every request.
    lookup_cache_size: int = Field(default=10_000, ge=0, le=10_000_000)

    # Redis
    redis_url: str | None = None
    redis_host: str | None = None
    redis_port: int = 6379
    redis_api_key: SecretStr | None = None
    redis_user: str | None = None
    redis_user_pw: SecretStr | None = None
    redis_key_prefix: str = Field(default="fw:", pattern=r"^[A-Za-z0-9:_.-]{1,32}$")

    # LLM
    model: str | None = None
    model_key: SecretStr | None = None
    model_provider: str | None = None
    model_base_url: str | None = None
    model_timeout_seconds: float = Field(default=60.0, gt=0)
    model_max_retries: int = Field(default=2, ge=0, le=10)
    model_temperature: float | None = None
    # The models characters may choose (SPEC §13), comma-separated `provider:model` names;
    # each is built once at start-up. Empty: characters use MODEL.
    models: str = ""
    # The usage ledger (SPEC §13) records every model call; off only to measure what it costs.
    usage_ledger_enabled: bool = True
    # Whether a usage row's commit waits for PostgreSQL's WAL flush: off, a row survives any
    # crash of FastWrap but not one of PostgreSQL within ~0.6 s (adapters/postgres/usage.py).
    usage_synchronous_commit: bool = False

    # embeddings
    embedding_model: str = "text-embedding-3-small"
    embedding_dim: int = Field(default=1536, ge=1, le=16000)
    embedding_key: SecretStr | None = None
    embedding_base_url: str | None = None
    embedding_provider: str | None = None
    embedding_batch_size: int = Field(default=100, ge=1, le=2048)

    # long-term memory (SPEC §15), for characters that set no `memory` of their own: the
    # original FastWrap's VECTOR_CHAT_* variables, read with their meaning. Off unless asked:
    # memory embeds every turn and keeps end users' words for MEMORY_RETENTION_DAYS.
    vector_chat_store_enabled: bool = False  # such characters remember their turns
    vector_chat_memory_enabled: bool = True  # ... and recall them on later turns
    vector_chat_memory_top_k_chat: int = Field(default=4, ge=0, le=20)
    vector_chat_memory_top_k_kb: int = Field(default=4, ge=1, le=50)  # see docs/operations.md
    vector_chat_memory_max_chars: int = Field(default=2400, ge=200, le=100_000)
    vector_chat_entity_type: str = Field(default="chat", pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    memory_retention_days: int = Field(default=90, ge=0, le=36_500)  # 0: kept until erased

    # tracing
    langchain_api_key: SecretStr | None = None
    langsmith_tracing_v2: bool = True  # tracing needs LANGCHAIN_API_KEY too

    # conversations
    conversation_ttl_seconds: int = Field(default=1200, ge=1, le=604_800)
    conversation_max_messages: int = Field(default=1000, ge=2)
    conversation_lock_wait_seconds: float = Field(default=30.0, gt=0)
    # The Redis lock renews itself while held; its TTL only bounds how long a crashed
    # replica's conversation stays locked.
    conversation_lock_ttl_seconds: float = Field(default=15.0, ge=1)
    history_max_messages: int = Field(default=50, ge=0)
    history_max_chars: int = Field(default=24_000, ge=0)

    # rate limits
    rate_limit_enabled: bool = True
    rate_limit_fail_open: bool = True
    rate_limit_chat: str = "60/minute"
    rate_limit_api: str = "600/minute"
    rate_limit_auth: str = "20/minute"
    rate_limit_ip: str = "1200/minute"
    # Each end-user token's own budget (all routes), on top of its client's (SPEC §8).
    rate_limit_end_user: str = "30/minute"
    # Failed logins per email, whatever the IP: over it, that email's logins are refused.
    rate_limit_login_failures: str = "10/15 minutes"
    # With Redis: how long requests leased from a budget may be spent in this process without
    # asking Redis again (domain/rate_leases.py); 0 asks Redis on every request.
    rate_limit_lease_ms: int = Field(default=50, ge=0, le=1000)
    trusted_proxies: str = ""

    # observability (SPEC §14): /metrics, and OpenTelemetry tracing when an endpoint is set
    metrics_enabled: bool = True
    otel_exporter_otlp_endpoint: str | None = None
    otel_exporter_otlp_protocol: Literal["http/protobuf", "grpc"] = "http/protobuf"
    otel_capture_content: bool = False  # message content on model spans: off unless asked

    # logging
    log_dir: Path | None = Path("logs")
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator(
        "rate_limit_chat",
        "rate_limit_api",
        "rate_limit_auth",
        "rate_limit_ip",
        "rate_limit_end_user",
        "rate_limit_login_failures",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            RateLimit.parse(value)
        except Invalid as exc:
            raise ValueError(exc.detail) from exc
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)
        return value

    @field_validator(
        "database_url",
        "redis_url",
        "model_base_url",
        "embedding_base_url",
        "otel_exporter_otlp_endpoint",
    )
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if not parts.scheme or not (parts.netloc or parts.query or parts.path):
            raise ValueError(f"{value!r} is not a URL")
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @model_validator(mode="after")
    def _service_key(self) -> Settings:
        key = self.fastwrap_api_key
        if key is not None and self.fastwrap_env != "development":
            value = key.get_secret_value()
            if value.lower() in WEAK_SERVICE_KEYS or len(value) < 16:
                raise ValueError(
                    "FASTWRAP_API_KEY is too weak (use 16+ random characters, "
                    "or set FASTWRAP_ENV=development)"
                )
        if self.db_pool_min > self.db_pool_max:
            raise ValueError("DB_POOL_MIN must not exceed DB_POOL_MAX")
        return self

    # --- derived values ------------------------------------------------------------------

    @property
    def postgres_dsn(self) -> str | None:
        """DATABASE_URL wins; then the POSTGRES_* group; None means the embedded server."""
        if self.database_url:
            return self.database_url
        if not self.postgres_host:
            return None
        password = self.postgres_pw.get_secret_value() if self.postgres_pw else ""
        auth = quote(self.postgres_user, safe="") + (
            ":" + quote(password, safe="") if password else ""
        )
        return f"postgresql://{auth}@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"

    @property
    def redis_dsn(self) -> str | None:
        """REDIS_URL wins; then REDIS_HOST/PORT with AUTH; None means the in-process cache."""
        if self.redis_url:
            return self.redis_url
        if not self.redis_host:
            return None
        auth = ""
        if self.redis_user and self.redis_user_pw:
            pw = self.redis_user_pw.get_secret_value()
            auth = f"{quote(self.redis_user, safe='')}:{quote(pw, safe='')}@"
        elif self.redis_api_key:
            auth = f":{quote(self.redis_api_key.get_secret_value(), safe='')}@"
        return f"redis://{auth}{self.redis_host}:{self.redis_port}/0"

    @property
    def allowed_models(self) -> tuple[str, ...]:
        """MODELS as a list, in order, without blanks or repeats."""
        entries = (part.strip() for part in self.models.split(","))
        return tuple(dict.fromkeys(entry for entry in entries if entry))

    @property
    def trusted_proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        parts = filter(None, (p.strip() for p in self.trusted_proxies.split(",")))
        return [ipaddress.ip_network(p, strict=False) for p in parts]
