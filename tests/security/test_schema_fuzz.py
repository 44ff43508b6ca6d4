"""Schema fuzzing (issue 8.1): every operation of our own OpenAPI document, driven by schemathesis
in-process over ASGI on the memory backend, with a valid key, a wrong one and none.

Every response must be a declared status with a declared content type and a body that matches
its declared schema (error bodies forbid extra keys, so the schema is exactly what we send), and
no response may be a 5xx. Examples are bounded and derandomised, so CI sees the same cases.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi
from starlette.types import ASGIApp, Receive, Scope, Send

from fastwrap.container import make_container
from fastwrap.entrypoints.http.app import create_app
from tests.support.app import SERVICE_KEY, STRONG_PASSWORD, hermetic_settings

MAX_EXAMPLES = 30
UNKNOWN_KEY = "fw_" + "A" * 43  # well-formed, never issued
# Calls with a valid key that would spend it: they get a tenant of their own.
SPENDS_KEY = {("DELETE", "/clients/me"), ("POST", "/clients/me/regenerate-key")}
PUBLIC = {"/", "/health", "/auth/signup", "/auth/login"}
CONVERSATION_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class AppSlot:
    """The stable ASGI target schemathesis is given; each test module binds its own app.

    The fixture runs the real app's lifespan (so its services start and stop with the module);
    the slot declines the lifespan protocol, which servers treat as "no lifespan support".
    """

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("the fixture runs the app's lifespan")
        assert self.app is not None, "the fuzz fixture binds the app"
        await self.app(scope, receive, send)


SLOT = AppSlot()
# Building the app connects nothing; only its OpenAPI document is read here.
# The NDJSON import body is text, one JSON object per line.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")
schema = schemathesis.openapi.from_dict(create_app(make_container(hermetic_settings())).openapi())
schema.app = SLOT
schema.config.generation.update(with_security_parameters=False)
schema.config.checks.positive_data_acceptance.enabled = False  # replaced by the check below


def validation_matches_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schema-valid input may break a business rule (a weak password is a 422 from the domain),
    but FastAPI's own validation must never refuse it: that would mean the published schema
    and the validators disagree."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    body = response.json()
    assert body.get("error") != "ValidationError", f"schema-valid input refused: {body}"
    return None


@dataclass
class Fixtures:
    """Keys and real resources, so fuzzed ids sometimes hit something that exists."""

    http: Any
    tenant_key: str
    admin_key: str
    turn: Iterator[int] = field(default_factory=itertools.count)

    def _post(self, path: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(path, json=body, headers={"x-api-key": key})
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def fresh_tenant(self) -> str:
        email = f"spent-{next(self.turn)}@example.com"
        response = self.http.post(
            "/auth/signup", json={"email": email, "password": STRONG_PASSWORD}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["api_key"])

    def character(self) -> str:
        return str(self._post("/api/characters", self.tenant_key, {"agent_role": "a pirate"})["id"])

    def valid_headers(self, case: Any) -> dict[str, str]:
        path = case.operation.path
        if path.startswith("/internal/"):
            return {"x-fastwrap-api-key": SERVICE_KEY}
        if path.startswith("/admin/"):
            return {"x-api-key": self.admin_key}
        if (case.method.upper(), path) in SPENDS_KEY:
            return {"x-api-key": self.fresh_tenant()}
        if path.startswith("/v1/"):  # OpenAI's clients send the key as a bearer token
            return {"Authorization": f"Bearer {self.tenant_key}"}
        return {"x-api-key": self.tenant_key}

    def point_at_real_resources(self, case: Any) -> None:
        """Swap well-formed ids for ones that exist (every other time for path ids, so 404s are
        fuzzed too), so the fuzzer reaches the success paths: updates, deletes, chat turns."""
        if case.operation.path == "/api/chat" and isinstance(case.body, dict):
            if _is_uuid(case.body.get("character_id")):
                case.body["character_id"] = self.character()
        if case.operation.path.startswith("/v1/") and next(self.turn) % 2:
            if isinstance(case.body, dict) and isinstance(case.body.get("model"), str):
                case.body["model"] = self.character()  # a model that exists
            if isinstance((case.path_parameters or {}).get("model"), str):
                case.path_parameters["model"] = self.character()
        if next(self.turn) % 2:
            return
        params = case.path_parameters or {}
        if _is_uuid(params.get("character_id")):
            params["character_id"] = self.character()
        if _is_uuid(params.get("client_id")):
            params["client_id"] = self.client()
        conversation = params.get("conversation_id")
        if isinstance(conversation, str) and CONVERSATION_ID.fullmatch(conversation):
            self.conversation(conversation)

    def client(self) -> str:
        email = f"victim-{next(self.turn)}@example.com"
        body = {"email": email, "password": STRONG_PASSWORD}
        return str(self._post("/admin/clients", self.admin_key, body)["id"])

    def conversation(self, conversation_id: str) -> None:
        body = {"character_id": self.character(), "content": "hi"}
        turn = self.http.post(
            "/api/chat",
            json={**body, "conversation_id": conversation_id},
            headers={"x-api-key": self.tenant_key},
        )
        assert turn.status_code in (201, 409), turn.text  # 409: it exists already


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        UUID(value)
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def fixtures() -> Iterator[Fixtures]:
    app = create_app(make_container(hermetic_settings()))
    with asgi.get_client(app) as http:  # runs the app's lifespan in schemathesis' event loop
        SLOT.app = app
        tenant = http.post(
            "/auth/signup", json={"email": "tenant@example.com", "password": STRONG_PASSWORD}
        )
        admin = http.post(
            "/internal/bootstrap-admin",
            json={"email": "admin@example.com", "password": STRONG_PASSWORD},
            headers={"x-fastwrap-api-key": SERVICE_KEY},
        )
        yield Fixtures(http, tenant.json()["data"]["api_key"], admin.json()["data"]["api_key"])
    SLOT.app = None
    asgi.shutdown_lifespans()


# What the OpenAI-compatible routes (/v1, in OpenAI's error shape) call FastWrap's codes.
OPENAI_CODES = {"Unauthorized": "invalid_api_key", "Forbidden": "insufficient_scope"}


def _refused_openai(response: Any, status: int, code: str) -> bool:
    error = response.json()["error"]
    if response.status_code == status:
        return bool(error["code"] == OPENAI_CODES[code])
    if response.status_code in (404, 405):
        return bool(error["code"] in ("not_found", "method_not_allowed"))
    return bool(response.status_code == 400 and error["param"] is None)  # not JSON


def _refused(response: Any, status: int, code: str) -> bool:
    """Refused with `status`, or turned away before authentication ran: no route for the path
    or method, or a body that is not JSON. Neither reveals anything."""
    if response.request.url.split("://", 1)[-1].split("/", 1)[-1].startswith("v1/"):
        return _refused_openai(response, status, code)
    body = response.json()
    if response.status_code == status:
        return bool(body["error"] == code)
    if response.status_code in (404, 405):
        return bool(body["detail"] in ("Not Found", "Method Not Allowed"))
    if response.status_code == 422 and body["error"] == "ValidationError":
        return all(issue["type"] == "json_invalid" for issue in body["detail"])
    return bool(response.status_code == 400 and body["error"] == "MalformedBody")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_with_good_bad_and_missing_keys(
    case: Any, fixtures: Fixtures
) -> None:
    checks = [validation_matches_schema]
    print(
        "CASE",
        case.operation.label,
        case.meta.generation.mode if case.meta else None,
        case.meta.phase.name if case.meta else None,
        repr(case.body),
    )
    fixtures.point_at_real_resources(case)
    case.call_and_validate(headers=fixtures.valid_headers(case), additional_checks=checks)

    path = case.operation.path
    if path in PUBLIC:
        return
    header = "x-fastwrap-api-key" if path.startswith("/internal/") else "x-api-key"
    wrong: tuple[dict[str, str], ...] = ({header: UNKNOWN_KEY}, {header: "not a key"}, {})
    if path.startswith("/v1/"):
        schemes = (f"Bearer {UNKNOWN_KEY}", "Bearer not a key", "Basic eDp5")
        wrong = (*({"Authorization": value} for value in schemes), {})
    for headers in wrong:
        response = case.call_and_validate(headers=headers, additional_checks=checks)
        assert _refused(response, 401, "Unauthorized"), response.text
    if path.startswith("/admin/"):
        as_tenant = case.call_and_validate(headers={"x-api-key": fixtures.tenant_key})
        assert _refused(as_tenant, 403, "Forbidden"), as_tenant.text
