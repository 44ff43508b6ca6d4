"""A tenant's own website with FastWrap's chat bubble on it (SPEC §13, §14).

    FASTWRAP_URL=http://127.0.0.1:8555 FASTWRAP_KEY=fw_... FASTWRAP_CHARACTER=<id> \
        uv run python examples/widget/server.py --port 8600

Then open http://127.0.0.1:8600/. First allow this site's origin for your tenant:

    curl -X PATCH $FASTWRAP_URL/clients/me/settings -H "x-api-key: $FASTWRAP_KEY" \
        -H 'content-type: application/json' -d '{"allowed_origins": ["http://127.0.0.1:8600"]}'

The tenant key stays on this server. The page gets only what `/fastwrap-token` hands it: an
end-user token (fwu_...) for one character and one visitor, minted with the tenant key and
short-lived; the widget asks for another when it expires. Each visitor is an end user of its
own, remembered by a cookie, so one visitor never sees another's conversation. Standard library
only: a real site would do the same from its own framework.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import urllib.error
import urllib.request
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAGE = (Path(__file__).parent / "index.html").read_text()
TOKEN_TTL = 900  # seconds: SPEC §13 allows 60-86,400


class Site(BaseHTTPRequestHandler):
    fastwrap_url = os.environ.get("FASTWRAP_URL", "http://127.0.0.1:8555").rstrip("/")
    tenant_key = os.environ.get("FASTWRAP_KEY", "")
    character = os.environ.get("FASTWRAP_CHARACTER", "")

    def do_GET(self) -> None:
        if self.path == "/":
            page = PAGE.replace("{{FASTWRAP_URL}}", self.fastwrap_url)
            self._send(HTTPStatus.OK, page.replace("{{CHARACTER}}", self.character), "text/html")
        elif self.path == "/fastwrap-token":
            self._token()
        else:
            self._send(HTTPStatus.NOT_FOUND, "not found", "text/plain")

    def _visitor(self) -> tuple[str, bool]:
        cookie = SimpleCookie(self.headers.get("cookie", ""))
        if "visitor" in cookie:
            return cookie["visitor"].value, False
        return f"visitor-{secrets.token_hex(8)}", True

    def _token(self) -> None:
        visitor, new = self._visitor()
        body = {"character_id": self.character, "end_user": visitor, "ttl": TOKEN_TTL}
        request = urllib.request.Request(
            f"{self.fastwrap_url}/api/end-user-tokens",
            json.dumps(body).encode(),
            {"content-type": "application/json", "x-api-key": self.tenant_key},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                token = json.loads(response.read())["data"]["token"]
        except (urllib.error.URLError, KeyError, ValueError):
            self._send(HTTPStatus.BAD_GATEWAY, '{"detail": "no token"}', "application/json")
            return
        cookies = [f"visitor={visitor}; HttpOnly; SameSite=Strict; Path=/"] if new else []
        self._send(HTTPStatus.OK, json.dumps({"token": token}), "application/json", cookies)

    def _send(
        self, status: HTTPStatus, text: str, media_type: str, cookies: list[str] | None = None
    ) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("content-type", f"{media_type}; charset=utf-8")
        self.send_header("content-length", str(len(data)))
        self.send_header("cache-control", "no-store")
        for cookie in cookies or []:
            self.send_header("set-cookie", cookie)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the token endpoint's URLs are harmless, but keep the example quiet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8600)
    args = parser.parse_args()
    if not Site.tenant_key or not Site.character:
        parser.error("set FASTWRAP_KEY and FASTWRAP_CHARACTER")
    server = ThreadingHTTPServer((args.host, args.port), Site)
    print(f"serving http://{args.host}:{server.server_port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
