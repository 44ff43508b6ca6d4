"""The playground page and the static assets it loads, from package data (SPEC §14).

Everything under `entrypoints/http/static/` ships in the wheel; `/static/{name}` serves its
scripts and stylesheets. The page has no inline script or style, so its Content-Security-Policy
allows only this origin. `/widget.js` is the embeddable chat bubble, loaded by other sites' pages
(a script tag needs no CORS; the widget's API calls are CORS-checked against the tenant's
allowed origins).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Response

from fastwrap.domain.errors import NotFound

router = APIRouter(tags=["service"])

PAGE = "playground.html"
WIDGET = "widget.js"
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


@cache
def assets() -> dict[str, tuple[bytes, str]]:
    """Every static file by name, with its media type: read once, from the installed package."""
    found: dict[str, tuple[bytes, str]] = {}
    for entry in (files("fastwrap.entrypoints.http") / "static").iterdir():
        suffix = entry.name[entry.name.rfind(".") :]
        if entry.is_file() and (suffix in MEDIA_TYPES or entry.name == PAGE):
            found[entry.name] = (entry.read_bytes(), MEDIA_TYPES.get(suffix, "text/html"))
    return found


def _asset(name: str) -> Response:
    body, media_type = assets()[name]
    return Response(body, media_type=media_type, headers=SECURITY_HEADERS)


@router.get("/playground", include_in_schema=False)
async def playground() -> Response:
    return _asset(PAGE)


@router.get("/widget.js", include_in_schema=False)
async def widget() -> Response:
    body, media_type = assets()[WIDGET]
    # Embedded in other origins' pages: readable from them, and cached a little.
    headers = {
        "x-content-type-options": "nosniff",
        "cross-origin-resource-policy": "cross-origin",
        "cache-control": "public, max-age=300",
    }
    return Response(body, media_type=media_type, headers=headers)


@router.get("/static/{name}", include_in_schema=False)
async def static_asset(name: str) -> Response:
    if name == PAGE or name not in assets():
        raise NotFound("no such static asset")
    return _asset(name)
