"""Ids, cursors, emails, rate-limit strings, history trimming and API keys."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastwrap.adapters.security.hashing import Sha256ApiKeys
from fastwrap.domain.chat import HistoryBudget, trim_history
from fastwrap.domain.emails import normalise_email
from fastwrap.domain.errors import Invalid
from fastwrap.domain.model import Message, RateLimit, Role, check_conversation_id
from fastwrap.domain.pagination import Cursor

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@given(st.datetimes(timezones=st.just(UTC)), st.uuids())
def test_cursor_round_trips(at: datetime, ident: object) -> None:
    cursor = Cursor(at, ident)  # type: ignore[arg-type]
    assert Cursor.decode(cursor.encode()) == cursor


@given(st.text(max_size=80))
def test_garbage_cursor_is_invalid_never_a_crash(text: str) -> None:
    try:
        Cursor.decode(text)
    except Invalid:
        pass


def test_email_is_normalised_and_validated() -> None:
    # Stored as given but for the domain (the original's behaviour); stores compare ignoring case.
    assert normalise_email("  nFcssRmpbJ@Example.COM ") == "nFcssRmpbJ@example.com"
    assert normalise_email("nFcssRmpbJ@example.com") == "nFcssRmpbJ@example.com"
    for bad in ["", "alice", "a@b", "a@@b.com", "a..b@c.com", "a b@c.com", "x" * 250 + "@a.com"]:
        with pytest.raises(Invalid):
            normalise_email(bad)


@pytest.mark.parametrize(
    ("text", "count", "period"),
    [
        ("60/minute", 60, 60),
        ("5/second", 5, 1),
        ("1000/hour", 1000, 3600),
        ("2/minutes", 2, 60),
        ("10/15 minutes", 10, 900),
        ("10/15minute", 10, 900),
        ("3 / 2 Hours", 3, 7200),
        ("1/1 day", 1, 86400),
    ],
)
def test_rate_limit_parses(text: str, count: int, period: float) -> None:
    assert RateLimit.parse(text) == RateLimit(count=count, period=period)


@pytest.mark.parametrize(
    "text",
    ["", "60", "x/minute", "0/minute", "5/fortnight", "-1/second", "10/0 minutes", "1/1.5 hour"],
)
def test_bad_rate_limit_is_refused(text: str) -> None:
    with pytest.raises(Invalid):
        RateLimit.parse(text)


@given(st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True))
def test_conversation_ids_of_the_alphabet_pass(value: str) -> None:
    assert check_conversation_id(value) == value


@pytest.mark.parametrize("value", ["", "a/b", "a b", "x" * 129, "é", "a\n"])
def test_other_conversation_ids_fail(value: str) -> None:
    with pytest.raises(Invalid):
        check_conversation_id(value)


def _history(lengths: list[int], roles: list[Role] | None = None) -> list[Message]:
    """Messages of these sizes; alternating user/assistant unless `roles` says otherwise."""
    return [
        Message(
            role=roles[i] if roles else ("user" if i % 2 == 0 else "assistant"),
            content="x" * n,
            created_at=T0 + timedelta(seconds=i),
        )
        for i, n in enumerate(lengths)
    ]


def _usable(history: list[Message], budget: HistoryBudget) -> bool:
    """Within both budgets, and not opening on a reply whose question was cut off."""
    within = len(history) <= budget.max_messages
    within = within and sum(len(m.content) for m in history) <= budget.max_chars
    return within and (not history or history[0].role == "user")


ROLES: st.SearchStrategy[Role] = st.sampled_from(["user", "assistant"])


@given(
    st.lists(st.tuples(ROLES, st.integers(min_value=1, max_value=500)), max_size=60),
    st.booleans(),
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=0, max_value=5000),
)
def test_trimmed_history_is_the_longest_recent_suffix_within_budget(
    messages: list[tuple[Role, int]], alternating: bool, max_messages: int, max_chars: int
) -> None:
    lengths = [n for _, n in messages]
    history = _history(lengths, None if alternating else [role for role, _ in messages])
    budget = HistoryBudget(max_messages=max_messages, max_chars=max_chars)
    kept = trim_history(history, budget)

    start = len(history) - len(kept)
    assert kept == history[start:]  # the most recent messages, oldest first
    assert _usable(kept, budget)
    # And the longest such suffix: taking in any older message would break a budget or
    # open on a reply. (Budgets only grow with the suffix, so this is what "fits" means.)
    assert not any(_usable(history[older:], budget) for older in range(start))
    # What a turn reads from the store (only the last max_messages) trims to the same history.
    tail = history[max(0, len(history) - max_messages) :] if max_messages else []
    assert trim_history(tail, budget) == kept


def test_history_keeps_everything_that_fits() -> None:
    history = _history([10, 10, 10, 10])
    assert trim_history(history, HistoryBudget(max_messages=10, max_chars=100)) == history


def test_api_keys_are_prefixed_random_and_digested() -> None:
    keys = Sha256ApiKeys()
    generated = {keys.generate() for _ in range(200)}
    assert len(generated) == 200
    for key in generated:
        assert re.fullmatch(r"fw_[A-Za-z0-9_-]{43}", key)  # 32 random bytes = 256 bits
        digest = keys.digest(key)
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert key not in digest
        assert keys.digest(key) == digest
