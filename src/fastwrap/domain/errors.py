"""The domain error tree. Entry points map each class to one status code (http/errors.py)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the core raises on purpose. `code` is the machine-readable name."""

    code = "DomainError"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    code = "NotFound"


class Conflict(DomainError):
    code = "Conflict"


class Invalid(DomainError):
    """Input that is well-formed but breaks a business rule (HTTP 422)."""

    code = "Invalid"


class PolicyViolation(Invalid):
    """A password that breaks one or more rules; `failures` lists every rule that failed."""

    code = "PasswordPolicyViolation"

    def __init__(self, failures: list[str]) -> None:
        super().__init__("password does not meet the policy: " + "; ".join(failures))
        self.failures = failures


class Unauthorized(DomainError):
    code = "Unauthorized"


class Forbidden(DomainError):
    code = "Forbidden"


class Busy(DomainError):
    """Another turn holds the conversation for longer than the lock timeout."""

    code = "ConversationBusy"


class RateLimited(DomainError):
    """Over a budget: retry in `retry_after` seconds; `limit` and `reset_after` (seconds until
    the budget is full again) describe the budget, when there is one to describe."""

    code = "RateLimited"

    def __init__(
        self,
        detail: str,
        retry_after: float,
        *,
        limit: int | None = None,
        reset_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.limit = limit
        self.reset_after = reset_after


class Unavailable(DomainError):
    """A dependency we own (database, cache) cannot be reached (HTTP 503)."""

    code = "ServiceUnavailable"


class UpstreamFailed(DomainError):
    """The LLM or embedding provider answered with an error (HTTP 502)."""

    code = "UpstreamError"


class UpstreamTimeout(DomainError):
    """The LLM or embedding provider did not answer in time (HTTP 504)."""

    code = "UpstreamTimeout"


class ConfigurationError(DomainError):
    """Bad configuration found at start-up; `detail` names the variable to fix."""

    code = "ConfigurationError"


class BudgetExceeded(RateLimited):
    """A token budget is spent for its window (HTTP 429, Retry-After to the window's end)."""

    code = "BudgetExceeded"


# Finer kinds of the errors above, for entry points whose protocol names them apart (OpenAI's
# `model_not_found`, `conversation_character_mismatch`, ...). Each keeps its parent's `code`, so
# the `/api` bodies that carry the code are unchanged.


class CharacterNotFound(NotFound):
    """No live character of the tenant has that id (or, resolving a model, that name)."""


class Ambiguous(Invalid):
    """A name that several live characters share, where one was meant."""


class CharacterMismatch(Conflict):
    """The conversation is bound to another character."""


class EndUserMismatch(Conflict):
    """The conversation belongs to another end user."""
