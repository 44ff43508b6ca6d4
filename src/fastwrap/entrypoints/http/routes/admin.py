"""Admin bootstrap (service secret) and admin management of clients."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from fastwrap.domain.clients import ClientChanges, ClientProfile
from fastwrap.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from fastwrap.domain.updates import KEEP
from fastwrap.entrypoints.http.deps import AdminDep, ServicesDep, service_key
from fastwrap.entrypoints.http.errors import COMMON, documented
from fastwrap.entrypoints.http.responses import issued, ok
from fastwrap.entrypoints.http.schemas import (
    AdminClientIn,
    AdminClientOut,
    AdminClientPatch,
    ClientWithKey,
    Credentials,
    Envelope,
    Items,
)

router = APIRouter(tags=["admin"], responses=documented(*COMMON, 401, 403))
ClientPage = Items[AdminClientOut]  # parametrised once, not on every request
IncludeDeleted = Annotated[
    bool, Query(description="Also list soft-deleted clients (with their deleted_at).")
]


@router.post(
    "/internal/bootstrap-admin",
    status_code=201,
    dependencies=[Depends(service_key)],
    responses=documented(409),
)
async def bootstrap_admin(body: Credentials, services: ServicesDep) -> Envelope[ClientWithKey]:
    result = await services.clients.bootstrap_admin(body.email, body.password)
    return ok("admin created; keep the api_key, it is shown once", issued(result))


@router.get("/admin/clients")
async def list_clients(
    admin: AdminDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    include_deleted: IncludeDeleted = False,
) -> Envelope[ClientPage]:
    page = await admin.services.clients.list(cursor, limit, include_deleted=include_deleted)
    items = [AdminClientOut.of(c) for c in page.items]
    return ok(f"{len(page.items)} clients", ClientPage(items=items, next_cursor=page.next_cursor))


@router.post("/admin/clients", status_code=201, responses=documented(409))
async def create_client(body: AdminClientIn, admin: AdminDep) -> Envelope[ClientWithKey]:
    profile = ClientProfile(
        subscription=body.subscription, store_name=body.store_name, phone=body.phone
    )
    result = await admin.services.clients.create(
        body.email, body.password, is_admin=body.is_admin, profile=profile
    )
    return ok("client created; keep the api_key, it is shown once", issued(result))


@router.get("/admin/clients/{client_id}", responses=documented(404))
async def get_client(client_id: UUID, admin: AdminDep) -> Envelope[AdminClientOut]:
    """A client, soft-deleted ones included (their `deleted_at` is set)."""
    client = await admin.services.clients.get(client_id, include_deleted=True)
    return ok("client", AdminClientOut.of(client))


@router.patch("/admin/clients/{client_id}", responses=documented(404, 409))
async def update_client(
    client_id: UUID, body: AdminClientPatch, admin: AdminDep
) -> Envelope[AdminClientOut]:
    sent = body.model_fields_set
    changes = ClientChanges(
        email=body.email,
        password=body.password,
        is_active=body.is_active,
        is_admin=body.is_admin,
        subscription=body.subscription if "subscription" in sent else KEEP,
        store_name=body.store_name if "store_name" in sent else KEEP,
        phone=body.phone if "phone" in sent else KEEP,
        token_budget_daily=body.token_budget_daily if "token_budget_daily" in sent else KEEP,
        token_budget_monthly=body.token_budget_monthly if "token_budget_monthly" in sent else KEEP,
    )
    updated = await admin.services.clients.update(admin.client, client_id, changes)
    return ok("client updated", AdminClientOut.of(updated))


@router.delete("/admin/clients/{client_id}", status_code=204, responses=documented(404, 409))
async def delete_client(client_id: UUID, admin: AdminDep) -> Response:
    await admin.services.clients.admin_delete(admin.client, client_id)
    return Response(status_code=204)
