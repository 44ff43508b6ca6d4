"""A real `fastwrap serve` (embedded default, offline model) and Debian's Chromium driven by
Playwright. Playwright's own browser downloads are never used: `executable_path` points at the
system Chromium (`apt-get install chromium`; .ci/run installs it when missing)."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.support.serve import Served, fastwrap_serve
from tests.support.services import service_missing

CHROMIUM = Path(os.environ.get("FASTWRAP_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Correct-Horse-9-battery"


def artifacts_dir() -> Path:
    """Screenshots land here: FASTWRAP_TEST_ARTIFACTS, or test-artifacts/ (ignored by git)."""
    directory = Path(os.environ.get("FASTWRAP_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def call(served: Served, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
    """One JSON API call; an error status comes back as its body, not as an exception."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json", **({"x-api-key": key} if key else {})}
    request = urllib.request.Request(f"{served.base}{path}", data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return json.loads(error.read())


def sign_up(served: Served, email: str) -> str:
    return str(
        call(served, "POST", "/auth/signup", {"email": email, "password": PASSWORD})["data"][
            "api_key"
        ]
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("playground")
    with fastwrap_serve(workdir, {"LOG_DIR": str(workdir / "logs")}) as server:
        yield server


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        service_missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1200, "height": 860})
    opened = await context.new_page()
    opened.set_default_timeout(15_000)
    try:
        yield opened
    finally:
        await context.close()
