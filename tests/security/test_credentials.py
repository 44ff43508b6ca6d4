"""Keys and end-user tokens as untrusted input: their format, the parser, and the logs.

Whatever arrives in `x-api-key` or `Authorization: Bearer` is a 401 unless it is a live key or
token, never a 500; and no key or token ever reaches a log line, even at DEBUG.
"""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastwrap.adapters.security.hashing import Sha256ApiKeys
from fastwrap.domain.errors import Unauthorized
from fastwrap.domain.keys import SECRET_CHARS, credential_kind
from tests.security.conftest import logged_text
from tests.support.app import make_character, sign_up
from tests.support.keys import create_key, issue_token

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
SHAPE = re.compile(rf"^fwu?_[A-Za-z0-9_-]{{{SECRET_CHARS}}}$")
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
secrets = st.text(alphabet=ALPHABET, min_size=SECRET_CHARS, max_size=SECRET_CHARS)


def test_generated_keys_and_tokens_have_their_shape() -> None:
    keys = Sha256ApiKeys()
    for _ in range(200):
        key, token = keys.generate(), keys.generate_token()
        assert credential_kind(key) == "key"
        assert credential_kind(token) == "token"
        assert len(key) == 46
        assert len(token) == 47


@given(st.text(max_size=120))
def test_the_parser_accepts_exactly_the_shape_and_refuses_the_rest(text: str) -> None:
    try:
        kind = credential_kind(text)
    except Unauthorized:
        assert not SHAPE.fullmatch(text)
    else:
        assert SHAPE.fullmatch(text)
        assert kind == ("token" if text.startswith("fwu_") else "key")


@given(
    st.sampled_from(["fw_", "fwu_"]), secrets, st.integers(0, SECRET_CHARS - 1), st.text(max_size=2)
)
def test_a_near_miss_is_refused(prefix: str, secret: str, at: int, swap: str) -> None:
    mutated = prefix + secret[:at] + swap + secret[at + 1 :]
    if mutated == prefix + secret or SHAPE.fullmatch(mutated):
        return  # the swap kept the shape: another valid-looking credential
    with pytest.raises(Unauthorized):
        credential_kind(mutated)


header_values = st.one_of(
    st.binary(max_size=120).filter(lambda b: not set(b) & {0, 10, 13}),
    st.builds(
        lambda p, s: (p + s).encode(), st.sampled_from(["fw_", "fwu_", "fw", "Bearer "]), secrets
    ),
    st.text(alphabet=ALPHABET + " ./+=", max_size=80).map(str.encode),
)


@FUZZ
@given(value=header_values, as_bearer=st.booleans())
async def test_any_credential_header_is_401_never_500(
    memory_api: httpx.AsyncClient, value: bytes, as_bearer: bool
) -> None:
    headers = {"authorization": b"Bearer " + value} if as_bearer else {"x-api-key": value}
    response = await memory_api.get("/api/characters", headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "Unauthorized"


async def test_no_key_or_token_is_logged_even_at_debug(
    api: httpx.AsyncClient, logs: pytest.LogCaptureFixture
) -> None:
    logs.set_level(logging.DEBUG)  # the root logger too: drivers, HTTP clients, everything
    ada = await sign_up(api, "ada@example.com")
    character = await make_character(api, ada)
    key = await create_key(api, ada.headers, ["chat", "account"])
    token = await issue_token(api, {"x-api-key": key}, character, "alice")
    chat = {"character_id": character, "content": "hi"}
    assert (await api.post("/api/chat", json=chat, headers={"x-api-key": token})).is_success
    assert (await api.post("/api/chat", json=chat, headers={"x-api-key": key})).is_success
    assert (await api.get("/clients/me/keys", headers={"x-api-key": key})).is_success
    keys = (await api.get("/clients/me/keys", headers=ada.headers)).json()["data"]["items"]
    revoked = await api.delete(f"/clients/me/keys/{keys[0]['id']}", headers=ada.headers)
    assert revoked.status_code == 204
    assert (await api.post("/api/chat", json=chat, headers={"x-api-key": token})).status_code == 401
    assert (await api.get("/api/characters", headers={"x-api-key": key})).status_code == 401

    text = logged_text(logs)
    assert "tenant=" in text  # the access log was captured
    for secret in (ada.key, key, token):
        assert secret not in text
        assert secret[4:] not in text  # not even without its prefix
