"""`GET /v1/models`: the tenant's characters as OpenAI `model` objects (SPEC §12)."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Response
from pydantic import BaseModel

from fastwrap.domain.model import Character
from fastwrap.entrypoints.http.openai.auth import ReadCallerDep
from fastwrap.entrypoints.http.openai.errors import documented

TAG = "openai"
router = APIRouter(prefix="/v1", tags=[TAG], responses=documented())


class ModelOut(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: Literal["fastwrap"]
    name: str | None


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelOut]


def model_object(character: Character) -> dict[str, Any]:
    return {
        "id": str(character.id),
        "object": "model",
        "created": int(character.created_at.timestamp()),
        "owned_by": "fastwrap",
        "name": character.name,
    }


def json_response(data: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status_code, media_type="application/json")


@router.get("/models", response_model=ModelList, summary="List the characters, as models")
async def list_models(caller: ReadCallerDep) -> Response:
    characters = await caller.services.characters.every(caller.client.id)
    return json_response({"object": "list", "data": [model_object(c) for c in characters]})


@router.get(
    "/models/{model:path}",
    response_model=ModelOut,
    responses=documented(404),
    summary="One character, by id or by unique name",
)
async def get_model(model: str, caller: ReadCallerDep) -> Response:
    character = await caller.services.characters.resolve(caller.client.id, model)
    return json_response(model_object(character))
