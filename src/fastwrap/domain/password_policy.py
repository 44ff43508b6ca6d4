"""The password rules of SPEC §5. Every failed rule is reported at once."""

from __future__ import annotations

from fastwrap.domain.errors import PolicyViolation

MIN_LENGTH = 10
MAX_BYTES = 72  # bcrypt ignores everything past 72 bytes; refuse rather than truncate silently

RULES: tuple[str, ...] = (
    f"at least {MIN_LENGTH} characters",
    "a lowercase letter",
    "an uppercase letter",
    "a digit",
    "a special character (not a letter, digit or space)",
    "no whitespace",
    f"at most {MAX_BYTES} bytes in UTF-8",
)


def password_failures(password: str) -> list[str]:
    """The rules `password` breaks, in the order of RULES; empty when it is acceptable."""
    checks = (
        len(password) >= MIN_LENGTH,
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() and not c.isspace() for c in password),
        not any(c.isspace() for c in password),
        len(password.encode("utf-8")) <= MAX_BYTES,
    )
    return [rule for rule, ok in zip(RULES, checks, strict=True) if not ok]


def check_password(password: str) -> str:
    failures = password_failures(password)
    if failures:
        raise PolicyViolation(failures)
    return password
