"""`GET /playground` and its assets: one self-contained page from package data (SPEC §14).

What a person does with it is tested in a real browser (tests/browser); these check what the
server sends: the page, its scripts and styles as separate files, and a policy that allows
nothing else.
"""

from __future__ import annotations

import re

from tests.support.app import app_client, hermetic_settings

CSP = "content-security-policy"


async def test_the_page_is_served_with_a_policy_that_allows_only_this_origin() -> None:
    async with app_client(hermetic_settings()) as api:
        page = await api.get("/playground")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers[CSP]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_the_page_has_no_inline_script_or_style_and_its_assets_load() -> None:
    async with app_client(hermetic_settings()) as api:
        html = (await api.get("/playground")).text
        scripts = re.findall(r'<script src="([^"]+)"', html)
        styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
        loaded = {path: await api.get(path) for path in scripts + styles}
    assert scripts == ["/static/playground.js"]
    assert styles == ["/static/playground.css"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    assert "<style" not in html
    assert not re.search(r"\s(style|on[a-z]+)=", html), "an inline style or handler"
    assert "//" not in html.replace("<!doctype html>", ""), "nothing from another origin"
    for path, response in loaded.items():
        assert response.status_code == 200, path
        assert CSP in response.headers
    assert loaded[scripts[0]].headers["content-type"].startswith("text/javascript")
    assert loaded[styles[0]].headers["content-type"].startswith("text/css")


async def test_the_accessible_names_of_the_contract_are_on_the_page() -> None:
    async with app_client(hermetic_settings()) as api:
        html = (await api.get("/playground")).text
    for field, label in (
        ("api-key", "API key"),
        ("character", "Character"),
        ("message", "Message"),
    ):
        assert f'<label for="{field}">{label}</label>' in html
    assert ">Send</button>" in html
    assert ">New conversation</button>" in html
    assert 'role="log"' in html


async def test_unknown_assets_are_404_and_the_page_is_linked_from_the_root() -> None:
    async with app_client(hermetic_settings()) as api:
        missing = [await api.get(p) for p in ("/static/nope.js", "/static/playground.html")]
        info = (await api.get("/")).json()["data"]
    assert [r.status_code for r in missing] == [404, 404]
    assert info["playground_url"] == "/playground"


async def test_loading_the_page_spends_no_api_budget() -> None:
    # The page and its assets carry no key: they count against the per-IP budget only, so a
    # tenant with a tiny API budget can still open the playground and use that budget.
    settings = hermetic_settings(rate_limit_enabled=True, rate_limit_api="2/minute")
    async with app_client(settings) as api:
        signup = await api.post(
            "/auth/signup", json={"email": "p@example.com", "password": "Correct-Horse-9-battery"}
        )
        key = {"x-api-key": signup.json()["data"]["api_key"]}
        for _ in range(5):
            for path in ("/playground", "/static/playground.js", "/static/playground.css"):
                assert (await api.get(path)).status_code == 200
        calls = [(await api.get("/api/characters", headers=key)).status_code for _ in range(2)]
    assert calls == [200, 200]
