"""Named keys, end-user tokens and the client's settings (SPEC §13)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from fastwrap.domain.client_settings import ClientSettings
from fastwrap.domain.updates import KEEP
from fastwrap.entrypoints.http.deps import AccountCaller, ChatKeyCaller
from fastwrap.entrypoints.http.errors import COMMON, documented
from fastwrap.entrypoints.http.key_schemas import (
    KeyIn,
    KeyOut,
    KeyWithSecret,
    SettingsOut,
    SettingsPatchIn,
    TokenIn,
    TokenOut,
)
from fastwrap.entrypoints.http.responses import ok
from fastwrap.entrypoints.http.schemas import Envelope, Items

router = APIRouter(tags=["keys"], responses=documented(*COMMON, 401, 403))


@router.post("/clients/me/keys", status_code=201)
async def create_key(body: KeyIn, caller: AccountCaller) -> Envelope[KeyWithSecret]:
    issued = await caller.services.access.create_key(
        caller.principal, body.name, body.scopes, body.expires_at
    )
    return ok("key created; keep the api_key, it is shown once", KeyWithSecret.issued(issued))


@router.get("/clients/me/keys")
async def list_keys(caller: AccountCaller) -> Envelope[Items[KeyOut]]:
    keys = await caller.services.access.list_keys(caller.client.id)
    return ok(f"{len(keys)} keys", Items(items=[KeyOut.of(k) for k in keys], next_cursor=None))


@router.delete("/clients/me/keys/{key_id}", status_code=204, responses=documented(404))
async def revoke_key(key_id: UUID, caller: AccountCaller) -> Response:
    await caller.services.access.revoke_key(caller.client.id, key_id)
    return Response(status_code=204)


@router.get("/clients/me/settings")
async def get_settings(caller: AccountCaller) -> Envelope[SettingsOut]:
    return ok("settings", SettingsOut.of(ClientSettings.of(caller.client)))


@router.patch("/clients/me/settings", responses=documented(404))
async def change_settings(body: SettingsPatchIn, caller: AccountCaller) -> Envelope[SettingsOut]:
    sent = body.model_fields_set
    updated = await caller.services.client_settings.update(
        caller.client.id,
        allowed_origins=body.allowed_origins if "allowed_origins" in sent else KEEP,
        end_user_daily_tokens=(
            body.end_user_daily_tokens if "end_user_daily_tokens" in sent else KEEP
        ),
    )
    return ok("settings updated", SettingsOut.of(updated))


@router.post("/api/end-user-tokens", status_code=201, responses=documented(404))
async def issue_token(body: TokenIn, caller: ChatKeyCaller) -> Envelope[TokenOut]:
    issued = await caller.services.access.issue_token(
        caller.principal,
        body.character_id,
        body.end_user,
        conversation_id=body.conversation_id,
        ttl=body.ttl,
    )
    return ok("end-user token issued; it is shown once", TokenOut.issued(issued))
