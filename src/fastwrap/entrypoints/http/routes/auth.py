"""Sign-up, log-in and self-service for the calling client."""

from __future__ import annotations

from fastapi import APIRouter, Response

from fastwrap.entrypoints.http.deps import AccountCaller, ServicesDep
from fastwrap.entrypoints.http.errors import COMMON, documented
from fastwrap.entrypoints.http.responses import issued, ok
from fastwrap.entrypoints.http.schemas import (
    ClientOut,
    ClientWithKey,
    Credentials,
    Envelope,
    KeyEnvelope,
    OwnChanges,
)

router = APIRouter(tags=["clients"], responses=documented(*COMMON))


@router.post("/auth/signup", status_code=201, responses=documented(409))
async def sign_up(body: Credentials, services: ServicesDep) -> Envelope[ClientWithKey]:
    result = await services.clients.sign_up(body.email, body.password)
    return ok("client created; keep the api_key, it is shown once", issued(result))


@router.post("/auth/login", responses=documented(401))
async def log_in(body: Credentials, services: ServicesDep) -> Envelope[ClientWithKey]:
    result = await services.logins.log_in(body.email, body.password)
    return ok("logged in; the previous api_key no longer works", issued(result))


@router.patch("/clients/me", responses=documented(401, 403, 409))
async def change_me(body: OwnChanges, caller: AccountCaller) -> Envelope[ClientOut]:
    updated = await caller.services.clients.change_own(
        caller.client, body.current_password, email=body.email, password=body.password
    )
    return ok("client updated", ClientOut.of(updated))


@router.post("/clients/me/regenerate-key", status_code=201, responses=documented(401, 403))
async def regenerate_key(caller: AccountCaller) -> KeyEnvelope:
    result = await caller.services.clients.regenerate_key(caller.client)
    data = issued(result)
    return KeyEnvelope(
        message="new api_key issued; the old one is dead", data=data, api_key=data.api_key
    )


@router.delete("/clients/me", status_code=204, responses=documented(401, 403))
async def delete_me(caller: AccountCaller) -> Response:
    await caller.services.clients.delete(caller.client.id)
    return Response(status_code=204)
