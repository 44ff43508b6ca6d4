"""Every `/v1` router, in the order routing tries them (the turn first)."""

from __future__ import annotations

from fastapi import APIRouter

from fastwrap.entrypoints.http.openai import chat, conversations, models, responses

ROUTERS: tuple[APIRouter, ...] = (
    chat.router,
    responses.router,
    conversations.router,
    models.router,
)
