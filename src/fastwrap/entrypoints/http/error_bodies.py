"""The error bodies, as declared in the OpenAPI document: exactly the keys we send."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """Every error but a validation error. Exactly these keys, so the schema says what we send."""

    model_config = ConfigDict(extra="forbid")

    detail: str
    error: str
    request_id: str | None


class RuleErrorBody(ErrorBody):
    """A 422 from a business rule (an invalid email, a weak password, a bad cursor)."""

    rules: list[str] = Field(
        default_factory=list, description="Every password rule that failed (password errors only)"
    )


class ValidationIssue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorBody(BaseModel):
    """FastAPI's 422 shape, plus our machine code and request id; inputs are never echoed."""

    model_config = ConfigDict(extra="forbid")

    detail: list[ValidationIssue]
    error: Literal["ValidationError"]
    request_id: str | None
