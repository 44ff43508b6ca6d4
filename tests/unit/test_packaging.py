"""The Docker packaging agrees with the app: .example.env, docker-compose.yml and the Dockerfile.

No Docker engine runs in CI, so these read the files: a variable compose needs but .env lacks, or
a setting nobody can discover, is caught here rather than on a user's first `docker compose up`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from fastwrap.entrypoints.cli.app import app as cli
from fastwrap.settings import WEAK_SERVICE_KEYS, Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_ENV = ROOT / ".example.env"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

SETTING_NAMES = frozenset(name.upper() for name in Settings.model_fields)
# `NAME=value` is set; `# NAME=` documents an optional variable that is unset by default.
SET_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$", re.MULTILINE)
DOCUMENTED_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
# ${VAR}, ${VAR:-default}, ${VAR:?message} and $VAR, after `$$` (a literal `$`) is dropped.
COMPOSE_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_]\w*)(?::?[-?+][^}]*)?\}|([A-Za-z_]\w*))")


def documented_names() -> list[str]:
    return DOCUMENTED_LINE.findall(EXAMPLE_ENV.read_text(encoding="utf-8"))


def set_values() -> dict[str, str]:
    return dict(SET_LINE.findall(EXAMPLE_ENV.read_text(encoding="utf-8")))


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def strings(node: object) -> list[str]:
    """Every key and value compose interpolates (comments are gone once the YAML is parsed)."""
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in strings(key) + strings(value)]
    if isinstance(node, list):
        return [text for item in node for text in strings(item)]
    return [node] if isinstance(node, str) else []


def compose_variables() -> set[str]:
    found: set[str] = set()
    for text in strings(compose()):
        pairs = COMPOSE_VARIABLE.findall(text.replace("$$", ""))
        found.update(braced or bare for braced, bare in pairs)
    return found


def final_stage() -> list[str]:
    """The Dockerfile's instructions after its last FROM, continuation lines joined."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    last_from = max(i for i, line in enumerate(instructions) if line.upper().startswith("FROM "))
    return instructions[last_from:]


# --- .example.env ----------------------------------------------------------------------------


def test_every_setting_has_a_line_in_example_env() -> None:
    assert SETTING_NAMES - set(documented_names()) == set()


def test_example_env_names_no_unknown_variable() -> None:
    assert set(documented_names()) - SETTING_NAMES == set()


def test_example_env_names_each_variable_once() -> None:
    names = documented_names()
    assert sorted(name for name in set(names) if names.count(name) > 1) == []


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drop any setting from the process environment: it would win over the file under test."""
    for key in list(os.environ):
        if key.upper() in SETTING_NAMES:
            monkeypatch.delenv(key)


@pytest.mark.usefixtures("clean_environment")
def test_example_env_is_a_valid_production_configuration() -> None:
    settings = Settings(_env_file=EXAMPLE_ENV)

    # production is where a weak service key is refused, so loading proves the placeholder passes
    assert settings.fastwrap_env == "production"
    assert settings.fastwrap_api_key is not None
    key = settings.fastwrap_api_key.get_secret_value()
    assert len(key) >= 16
    assert key.lower() not in WEAK_SERVICE_KEYS
    assert settings.postgres_dsn == (
        "postgresql://fastwrap:change-me-postgres-password@postgres:5432/fastwrap"
    )
    assert settings.redis_dsn == "redis://:change-me-redis-password@redis:6379/0"


def test_example_env_sets_no_variable_to_an_empty_secret() -> None:
    # An empty line is not "unset" to pydantic: FASTWRAP_API_KEY= would be refused as weak.
    values = set_values()
    empty = {name for name, value in values.items() if not value.strip()}
    assert empty <= {"TRUSTED_PROXIES"}


# --- docker-compose.yml ----------------------------------------------------------------------


def test_every_compose_variable_is_set_in_example_env() -> None:
    variables = compose_variables()
    assert variables, "the compose file reads its secrets from .env"
    assert variables - set(set_values()) == set()


def test_compose_runs_api_after_healthy_redis_and_postgres() -> None:
    services = compose()["services"]
    assert set(services) == {"api", "redis", "postgres"}
    api = services["api"]
    assert api["build"] == "."
    assert api["env_file"] == ".env"
    assert api["restart"] == "unless-stopped"
    assert any(str(port).endswith(":8555") for port in api["ports"])
    assert api["depends_on"] == {
        "redis": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }
    assert services["redis"]["image"] == "redis:7-alpine"
    assert services["postgres"]["image"] == "pgvector/pgvector:pg16"
    for name in ("redis", "postgres"):
        assert "test" in services[name]["healthcheck"], name


def test_compose_redis_requires_the_password_the_api_uses() -> None:
    redis = compose()["services"]["redis"]
    command = redis["command"]
    password = command[command.index("--requirepass") + 1]
    assert password.startswith("${REDIS_API_KEY")


def test_compose_postgres_is_created_from_the_api_settings() -> None:
    environment = compose()["services"]["postgres"]["environment"]
    assert environment["POSTGRES_USER"].startswith("${POSTGRES_USER")
    assert environment["POSTGRES_PASSWORD"].startswith("${POSTGRES_PW")
    assert environment["POSTGRES_DB"].startswith("${POSTGRES_DB")
    assert "pg_isready" in str(compose()["services"]["postgres"]["healthcheck"]["test"])


def test_compose_mounts_only_named_volumes() -> None:
    # A host path would tie the file to one machine.
    document = compose()
    declared = set(document["volumes"])
    for name, service in document["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            assert source in declared, f"{name} mounts {source!r}, not a named volume"


# --- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_installs_the_locked_dependencies_with_uv() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "ghcr.io/astral-sh/uv" in text
    assert re.search(r"uv sync --frozen --no-dev", text)
    assert text.count("FROM ") >= 2, "multi-stage: the runtime image carries no uv"


def test_dockerfile_runs_the_api_as_a_non_root_user_with_a_healthcheck() -> None:
    stage = final_stage()
    users = [line.split(None, 1)[1] for line in stage if line.upper().startswith("USER ")]
    assert users, "the runtime stage sets a USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    healthchecks = [line for line in stage if line.upper().startswith("HEALTHCHECK ")]
    assert len(healthchecks) == 1
    assert "/health" in healthchecks[0]
    assert "urllib" in healthchecks[0], "no curl in the slim image"
    assert "EXPOSE 8555" in stage
    assert stage[-1] == 'CMD ["fastwrap", "serve"]'


def test_the_image_command_names_a_real_cli_command() -> None:
    # Typer turns an app with a single command and no callback into that command itself, and then
    # `fastwrap serve` fails with "unexpected extra argument": the container would never start.
    command = typer.main.get_command(cli)
    assert "serve" in getattr(command, "commands", {}), "fastwrap is a group with a serve command"


def test_dockerignore_keeps_secrets_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignored
