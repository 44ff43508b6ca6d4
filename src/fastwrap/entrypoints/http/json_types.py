"""Field types for request bodies that accept what the published JSON Schema allows, no more."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field


def _json_number(value: object) -> object:
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


# Numbers and flags take what the published schema allows and no more: pydantic's lax mode
# would also take "5" or true for an integer and 0 for a boolean. 5.0 is an integer in JSON
# Schema, so it stays accepted.
JsonInt = Annotated[int, BeforeValidator(_json_number)]
JsonFloat = Annotated[float, BeforeValidator(_json_number)]
# Bounds inside the annotation: on the field, pydantic would publish them as "ge"/"le" (not JSON
# Schema) once the type is optional and has a validator.
Ttl = Annotated[int, Field(ge=1, le=604_800), BeforeValidator(_json_number)]
# A daily token budget (client settings): 0 to a trillion.
TokenCount = Annotated[int, Field(ge=0, le=10**12), BeforeValidator(_json_number)]

MAX_METADATA_DEPTH = 32


def _storable_json(value: dict[str, Any]) -> dict[str, Any]:
    """Metadata is free-form JSON, so pydantic checks nothing inside it. Refuse what would fail
    later as a 500: nesting too deep to serialise back (pydantic gives up past a few hundred
    levels) and lone surrogates ("\\ud800" is valid JSON but not encodable text). Iterative, so
    no depth can exhaust the stack here."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_METADATA_DEPTH:
            raise ValueError(f"metadata is nested deeper than {MAX_METADATA_DEPTH} levels")
        if isinstance(item, dict):
            pending.extend((key, depth) for key in item)
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            try:
                item.encode()
            except UnicodeEncodeError:
                raise ValueError("metadata holds text that is not valid Unicode") from None
    return value


Metadata = Annotated[dict[str, Any], AfterValidator(_storable_json)]
