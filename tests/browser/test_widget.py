"""The embeddable widget in a real browser (SPEC §14): a tenant's own site (examples/widget/, a
separate process on another origin) mints an end-user token with its tenant key, and the bubble
on its page chats through that token; from an origin the tenant has not allowed, CORS refuses
it. Screenshots are saved as artifacts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import ROOT, artifacts_dir, call, sign_up
from tests.support.serve import Served, free_port

pytestmark = pytest.mark.integration

PIRATE = {"name": "Pirate", "agent_role": "You are a pirate who sells parrots."}


@contextmanager
def tenant_site(served: Served, key: str, character_id: str) -> Iterator[str]:
    """examples/widget/server.py on a port of its own: its origin is not FastWrap's."""
    port = free_port()
    env = {
        **os.environ,
        "FASTWRAP_URL": served.base,
        "FASTWRAP_KEY": key,
        "FASTWRAP_CHARACTER": character_id,
    }
    site = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "widget" / "server.py"), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert site.stdout is not None
        assert site.stdout.readline().startswith("serving"), "the example site did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        site.terminate()
        site.wait(timeout=10)


def tenant_with_character(served: Served, email: str) -> tuple[str, str]:
    key = sign_up(served, email)
    character = call(served, "POST", "/api/characters", PIRATE, key)["data"]
    return key, str(character["id"])


def allow(served: Served, key: str, *origins: str) -> None:
    settings = call(
        served, "PATCH", "/clients/me/settings", {"allowed_origins": list(origins)}, key
    )
    assert settings["data"]["allowed_origins"] == list(origins), settings


async def chat_once(page: Page, text: str) -> None:
    await page.get_by_role("button", name="Open chat").click()
    await page.get_by_label("Message").fill(text)
    await page.get_by_role("button", name="Send").click()


async def test_the_widget_chats_through_an_end_user_token_from_an_allowed_origin(
    served: Served, page: Page
) -> None:
    key, character_id = tenant_with_character(served, "widget-shop@example.com")
    with tenant_site(served, key, character_id) as site:
        allow(served, key, site)
        tokens_seen: list[str] = []
        page.on(
            "request",
            lambda r: (
                tokens_seen.append(r.headers.get("x-api-key", ""))
                if r.url.endswith("/api/chat")
                else None
            ),
        )
        await page.goto(site)
        await chat_once(page, "Do you sell parrots?")

        log = page.get_by_role("log", name="Conversation")
        await expect(log).to_contain_text("you said: Do you sell parrots?")
        await page.screenshot(path=str(artifacts_dir() / "widget-chat.png"))

        # The page only ever held the end-user token, never the tenant key.
        assert tokens_seen
        assert all(t.startswith("fwu_") for t in tokens_seen)
        assert key not in await page.content()

        # A second message continues the same conversation, as that visitor.
        await page.get_by_label("Message").fill("And maps?")
        await page.get_by_role("button", name="Send").click()
        await expect(log.get_by_role("listitem")).to_have_count(4)
        await expect(log.get_by_role("listitem").nth(3)).to_contain_text("turn 2")

        [conversation_id] = await page.evaluate("Object.values(sessionStorage)")

    # The tenant sees the conversation, tagged with the visitor the site named.
    stored = call(served, "GET", f"/api/conversations/{conversation_id}", key=key)["data"]
    assert stored["end_user"].startswith("visitor-")
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"] * 2


async def test_the_widget_is_refused_from_an_origin_the_tenant_has_not_allowed(
    served: Served, page: Page
) -> None:
    key, character_id = tenant_with_character(served, "widget-elsewhere@example.com")
    with tenant_site(served, key, character_id) as site:
        allow(served, key, "https://shop.example")  # not this site
        await page.goto(site)
        await chat_once(page, "Hello?")

        await expect(page.get_by_role("status")).to_contain_text("could not be reached")
        await page.screenshot(path=str(artifacts_dir() / "widget-refused.png"))

        assert await page.evaluate("Object.values(sessionStorage)") == []  # no turn stored


def test_the_widget_script_is_served_for_other_origins_to_embed(served: Served) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{served.base}/widget.js", timeout=10) as response:
        script = response.read().decode()
        assert response.headers["content-type"].startswith("text/javascript")
        assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert script.lstrip().startswith("// FastWrap chat widget")
    assert Path(ROOT / "src/fastwrap/entrypoints/http/static/widget.js").read_text() == script
