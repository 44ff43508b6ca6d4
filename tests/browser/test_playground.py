"""The playground in a real browser, against a real `fastwrap serve` on the embedded default with
the offline model (SPEC §14): driven by the accessible names the spec lists, as a screen-reader
user would find them. Screenshots are saved as artifacts."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import ConsoleMessage, Page, expect

from tests.browser.conftest import artifacts_dir, call, sign_up
from tests.support.serve import Served

pytestmark = pytest.mark.integration

KEY_STORAGE = "fastwrap.playground.key"


def console_errors(page: Page) -> list[str]:
    """Console errors as they happen (a blocked script or style would show up here)."""
    errors: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", keep)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


async def open_with_key(page: Page, served: Served, key: str) -> None:
    await page.goto(f"{served.base}/playground")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Load characters").click()
    await expect(page.get_by_role("status")).to_contain_text("character(s) loaded")


async def send(page: Page, text: str) -> None:
    await page.get_by_label("Message").fill(text)
    async with page.expect_response("**/api/chat") as answer:
        await page.get_by_role("button", name="Send").click()
    response = await answer.value
    assert response.status == 201
    assert response.headers["content-type"].startswith("text/event-stream")  # it streamed
    await expect(page.get_by_role("status")).to_have_text("Reply complete")


async def test_paste_a_key_pick_a_character_and_chat(page: Page, served: Served) -> None:
    errors = console_errors(page)
    key = sign_up(served, "chat@example.com")
    keeper = {
        "name": "Keeper",
        "agent_role": "You keep a lighthouse.",
        "knowledge": {"entity_types": ["faq"], "min_score": 0.1},
    }
    call(served, "POST", "/api/characters", keeper, key)
    snippet = {"entity_type": "faq", "entity_id": "lamp", "content": "The lamp is lit at dusk."}
    call(served, "POST", "/api/vectors/upsert", snippet, key)
    await open_with_key(page, served, key)

    await page.get_by_label("Character").select_option(label="Keeper")
    await expect(page.get_by_label("Prompt")).to_have_value("You keep a lighthouse.")
    log = page.get_by_role("log")
    await send(page, "Is the lamp lit?")
    await expect(log).to_contain_text("Is the lamp lit?")
    await expect(log).to_contain_text(
        "[offline] You keep a lighthouse. | turn 1 | 1 knowledge note(s) "
        "| you said: Is the lamp lit?"
    )
    await expect(page.get_by_role("list", name="Sources").first).to_contain_text("faq/lamp (score")
    conversation = page.locator("#conversation-id")
    await expect(conversation).not_to_have_text("new")
    await expect(page.locator("#usage")).to_contain_text(re.compile(r"\d+ tokens in, \d+ out"))
    first_id = await conversation.text_content()
    await send(page, "And the fog horn?")
    await expect(log).to_contain_text(re.compile(r"turn 2 \|.*you said: And the fog horn\?"))
    await expect(conversation).to_have_text(first_id or "")
    await page.screenshot(path=artifacts_dir() / "playground-chat.png", full_page=True)

    history = call(served, "GET", f"/api/conversations/{first_id}", key=key)
    assert len(history["data"]["messages"]) == 4  # what the page showed is what was stored

    await page.get_by_role("button", name="New conversation").click()
    await expect(log).to_be_empty()
    await expect(conversation).to_have_text("new")
    await send(page, "Hello again")
    await expect(log).to_contain_text(re.compile(r"turn 1 \|.*you said: Hello again"))
    await expect(conversation).not_to_have_text(first_id or "")
    assert errors == []

    # The key is in this tab's session storage, nowhere else.
    stored = await page.evaluate(
        f"[sessionStorage.getItem('{KEY_STORAGE}'), localStorage.length, document.cookie]"
    )
    assert stored == [key, 0, ""]


async def test_create_a_character_and_edit_its_prompt(page: Page, served: Served) -> None:
    errors = console_errors(page)
    key = sign_up(served, "author@example.com")
    await open_with_key(page, served, key)
    await expect(page.get_by_label("Character")).to_contain_text("No characters yet")

    await page.get_by_label("Name").fill("Polly")
    await page.get_by_label("Prompt").fill("You are a parrot.")
    await page.get_by_role("button", name="Create character").click()
    await expect(page.get_by_role("status")).to_have_text("Character created")
    selected = page.get_by_label("Character").locator("option:checked")
    await expect(selected).to_have_text("Polly")
    await send(page, "Polly want a cracker?")
    log = page.get_by_role("log")
    await expect(log).to_contain_text("[offline] You are a parrot. | turn 1")

    await page.get_by_label("Prompt").fill("You are a cat.")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved")
    await send(page, "Still there?")
    # The same conversation goes on, and its next turn reads the new prompt.
    await expect(log).to_contain_text("[offline] You are a cat. | turn 2")
    characters = call(served, "GET", "/api/characters", key=key)["data"]["items"]
    assert [(c["name"], c["agent_role"]) for c in characters] == [("Polly", "You are a cat.")]
    assert errors == []


async def test_api_errors_show_the_apis_own_detail(page: Page, served: Served) -> None:
    old_key = sign_up(served, "revoked@example.com")
    new_key = call(served, "POST", "/clients/me/regenerate-key", {}, old_key)["data"]["api_key"]
    refused = call(served, "GET", "/api/characters", key=old_key)
    assert refused["error"] == "Unauthorized"

    await page.goto(f"{served.base}/playground")
    await page.get_by_label("API key").fill(old_key)
    await page.get_by_role("button", name="Load characters").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_have_text(refused["detail"])  # the 401's own words
    await page.screenshot(path=artifacts_dir() / "playground-error.png", full_page=True)

    # A validation error (422) lists what the API said about each field.
    await open_with_key(page, served, new_key)
    await page.get_by_label("Prompt").fill("")
    await page.get_by_role("button", name="Create character").click()
    await expect(alert).to_contain_text("body.agent_role:")
    await expect(alert).to_contain_text("at least 1 character")

    # Reloading the tab keeps the key (session storage) and loads the characters again.
    await page.reload()
    await expect(page.get_by_label("API key")).to_have_value(new_key)
    await expect(page.get_by_role("status")).to_contain_text("character(s) loaded")
