"""The playground page and the static assets it loads, from package data (SPEC §14).

Everything under `entrypoints/http/static/` ships in the wheel; `/static/{name}` serves its
scripts and stylesheets (the embeddable widget's script can be served the same way). The page
has no inline script or style, so its Content-Security-Policy allows only this origin.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Response

from fastwrap.domain.errors import NotFound

router = APIRouter(tags=["service"])

PAGE = "playground.html"
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


@router.get("/static/{name}", include_in_schema=False)
async def static_asset(name: str) -> Response:
    if name == PAGE or name not in assets():
        raise NotFound("no such static asset")
    return _asset(name)
