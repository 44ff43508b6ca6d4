"""Provider failures as domain errors, with every secret scrubbed from the message.

Provider SDKs differ (openai, anthropic, google, mistral, httpx underneath), so errors are read
by shape (`status_code`, `message`, `body`) instead of by class: an extra that is installed later
needs no change here. A provider's message is useful to the caller (a wrong model name, a quota),
but some echo the key they refused, so anything key-like is redacted before it leaves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fastwrap.domain.errors import DomainError, UpstreamFailed, UpstreamTimeout

MAX_DETAIL = 500
REDACTED = "[redacted]"
# Key-shaped tokens: OpenAI/Anthropic style prefixes, bearer tokens, and long opaque strings.
_KEY_LIKE = re.compile(
    r"(?i)\b(?:bearer\s+\S+|(?:sk|pk|rk|fw|gsk|xai)[-_][\w*.\-]{6,}|AIza[\w\-]{20,}|[\w\-]{40,})"
)
_TIMEOUT_NAMES = ("timeout", "timedout")


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without any of `secrets` and without anything that looks like an API key."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _KEY_LIKE.sub(REDACTED, text)


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, TimeoutError):
        return True
    return any(name in cls.__name__.lower() for cls in type(exc).__mro__ for name in _TIMEOUT_NAMES)


def _message(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    if not isinstance(message, str) or not message:
        message = str(exc) or type(exc).__name__
    return message


def provider_error(
    exc: Exception, *, what: str, timeout: float, secrets: Iterable[str | None] = ()
) -> DomainError:
    """The domain error for `exc` raised by a provider call; `what` names the caller's role."""
    if _is_timeout(exc):
        return UpstreamTimeout(f"{what} did not answer within {timeout:g}s")
    status = getattr(exc, "status_code", None)
    prefix = f"{what} provider error" + (f" ({status})" if isinstance(status, int) else "")
    detail = scrub(" ".join(_message(exc).split()), secrets)
    if len(detail) > MAX_DETAIL:
        detail = detail[: MAX_DETAIL - 3] + "..."
    return UpstreamFailed(f"{prefix}: {detail}")
