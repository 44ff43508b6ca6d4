"""What every store can hold, checked before anything is sent anywhere.

PostgreSQL refuses a NUL character in text and in jsonb, a JSON number that is NaN or infinite,
and text that is not valid Unicode (a lone surrogate cannot be encoded as UTF-8). Left to the
database, such input would be refused only after the embedder or the model was paid for, and
in the driver's words; checked here, it is a clear 422 before any provider is called.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from fastwrap.domain.errors import Invalid


def check_text(field: str, value: str | None) -> None:
    """Refuse text no store can hold: a NUL character, or a lone surrogate."""
    if value is None:
        return
    if "\x00" in value:
        raise Invalid(f"{field} cannot contain NUL characters")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise Invalid(f"{field} is not valid Unicode text (a lone surrogate)") from None


def check_json(field: str, value: object, max_depth: int) -> None:
    """Refuse JSON that jsonb refuses (NaN, infinities, bad text in keys or values) or that
    is nested deeper than `max_depth`. Iterative, so no depth can exhaust the stack here."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > max_depth:
            raise Invalid(f"{field} must be nested at most {max_depth} levels deep")
        if isinstance(item, str):
            check_text(field, item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise Invalid(f"{field} numbers must be finite (no NaN or Infinity)")
        elif isinstance(item, Mapping):
            for key, child in item.items():
                check_text(field, key if isinstance(key, str) else None)
                pending.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            pending.extend((child, depth + 1) for child in item)
