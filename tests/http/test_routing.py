"""The routes are added to the app's own list (add_routes) with include_router's meaning."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from fastwrap.container import make_container
from fastwrap.domain.errors import Forbidden
from fastwrap.entrypoints.http import app as app_module
from fastwrap.entrypoints.http.deps import read_caller
from tests.support.app import hermetic_settings


def _included(app: FastAPI, router: APIRouter) -> None:
    app.include_router(router)


def test_the_api_is_the_one_include_router_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = hermetic_settings()
    ours = app_module.create_app(make_container(settings))
    monkeypatch.setattr(app_module, "add_routes", _included)
    reference = app_module.create_app(make_container(settings))

    assert ours.openapi() == reference.openapi()
    assert list(ours.openapi()["paths"]) == list(reference.openapi()["paths"])


async def test_dependency_overrides_reach_the_added_routes() -> None:
    """An embedding app may override a FastWrap dependency, as with any included router."""

    def refuse() -> None:
        raise Forbidden("overridden for this app")

    app = app_module.create_app(make_container(hermetic_settings()))
    app.dependency_overrides[read_caller] = refuse
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/api/characters", headers={"x-api-key": "anything"})

    assert response.status_code == 403
    assert response.json()["detail"] == "overridden for this app"
