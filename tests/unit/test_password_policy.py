"""The password policy: every valid password passes, each broken rule is reported, all at once."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastwrap.domain.errors import PolicyViolation
from fastwrap.domain.password_policy import RULES, check_password, password_failures

lower = st.sampled_from(string.ascii_lowercase)
upper = st.sampled_from(string.ascii_uppercase)
digit = st.sampled_from(string.digits)
special = st.sampled_from("!@#$%^&*()-_=+[]{};:,.<>/?~")
any_allowed = st.one_of(lower, upper, digit, special)


@st.composite
def valid_passwords(draw: st.DrawFn) -> str:
    required = [draw(lower), draw(upper), draw(digit), draw(special)]
    rest = draw(st.lists(any_allowed, min_size=6, max_size=60))
    chars = draw(st.permutations(required + rest))
    return "".join(chars)


@given(valid_passwords())
def test_any_password_meeting_every_rule_passes(password: str) -> None:
    assert password_failures(password) == []
    assert check_password(password) == password


@pytest.mark.parametrize(
    ("mutate", "rule"),
    [
        (lambda p: p[:9], RULES[0]),
        (lambda p: p.upper(), RULES[1]),
        (lambda p: p.lower(), RULES[2]),
        (lambda p: "".join(c for c in p if not c.isdigit()) + "x", RULES[3]),
        (lambda p: "".join(c for c in p if c.isalnum()), RULES[4]),
        (lambda p: p + " ", RULES[5]),
        (lambda p: p + "é" * 40, RULES[6]),
    ],
)
@given(password=valid_passwords())
def test_each_rule_alone_fails(mutate: object, rule: str, password: str) -> None:
    broken = mutate(password)  # type: ignore[operator]
    assert rule in password_failures(broken)


def test_every_failed_rule_is_reported_at_once() -> None:
    with pytest.raises(PolicyViolation) as caught:
        check_password("abc def")
    assert set(caught.value.failures) == {RULES[0], RULES[2], RULES[3], RULES[4], RULES[5]}
    for rule in caught.value.failures:
        assert rule in caught.value.detail


def test_unicode_letters_count_and_the_limit_is_in_bytes() -> None:
    assert password_failures("Äbcdefgh1!") == []
    assert RULES[6] in password_failures("Aa1!" + "€" * 23)  # 4 + 69 bytes
