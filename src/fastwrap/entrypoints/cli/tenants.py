"""Finding a client the way an operator names it (id or email), and showing clients."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from fastwrap.domain.errors import Invalid, NotFound
from fastwrap.domain.model import Client

if TYPE_CHECKING:
    from fastwrap.container import Services


async def find_client(services: Services, ref: str) -> Client:
    """The live client with this id or email (case-insensitive), else NotFound."""
    try:
        try:
            client_id = UUID(ref)
        except ValueError:
            return await services.clients.find_by_email(ref)
        return await services.clients.get(client_id)
    except (NotFound, Invalid) as exc:
        raise NotFound(f"no client with id or email {ref!r}") from exc


def client_json(client: Client, api_key: str | None = None) -> dict[str, Any]:
    """The client as the API shows it: never the password hash or the key digest."""
    data: dict[str, Any] = {
        "id": str(client.id),
        "email": client.email,
        "is_admin": client.is_admin,
        "is_active": client.is_active,
        "created_at": client.created_at.isoformat(),
        "updated_at": client.updated_at.isoformat(),
    }
    if api_key is not None:
        data["api_key"] = api_key
    return data


def client_row(client: Client) -> list[str]:
    return [
        str(client.id),
        client.email,
        "admin" if client.is_admin else "",
        "active" if client.is_active else "inactive",
        client.created_at.isoformat(timespec="seconds"),
    ]


CLIENT_HEADER = ["ID", "EMAIL", "ROLE", "STATE", "CREATED"]
