"""Email validation and normalisation (stdlib only; deliverability is not our business)."""

from __future__ import annotations

import re

from fastwrap.domain.errors import Invalid

MAX_EMAIL_LENGTH = 254
_LOCAL = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL_RE = re.compile(rf"^{_LOCAL}@{_LABEL}(?:\.{_LABEL})+$")


def normalise_email(raw: str) -> str:
    """Trimmed, with the domain lower-cased and the local part as given (the original
    FastWrap's behaviour). Stores compare emails case-insensitively, so `Ada@x.org` and
    `ada@X.org` are one address for uniqueness and log-in."""
    email = raw.strip()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL_RE.fullmatch(email):
        raise Invalid("email is not a valid address")
    local, domain = email.split("@", 1)
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise Invalid("email is not a valid address")
    return f"{local}@{domain.lower()}"
