"""UsageLedger contract (SPEC §13): the same in memory and in PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from fastwrap.domain.usage import GroupBy, Outcome, UsageQuery, UsageRecord, UsageRow
from fastwrap.ports.usage import UsageLedger

DAY = datetime(2026, 3, 10, 12, tzinfo=UTC)
WIDE = (DAY - timedelta(days=30), DAY + timedelta(days=30))


def record(
    client_id: UUID,
    *,
    at: datetime = DAY,
    tokens: tuple[int, int] = (10, 5),
    outcome: Outcome = "ok",
    **fields: object,
) -> UsageRecord:
    values: dict[str, object] = {
        "key_id": None,
        "character_id": None,
        "end_user": None,
        "model": "openai:gpt-4o-mini",
        "estimated": False,
        **fields,
    }
    return UsageRecord(
        id=uuid4(),
        client_id=client_id,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        latency_ms=12,
        outcome=outcome,
        created_at=at,
        **values,  # type: ignore[arg-type]
    )


async def report(
    ledger: UsageLedger,
    client_id: UUID | None,
    group_by: GroupBy,
    *,
    limit: int = 50,
    after: str | None = None,
    span: tuple[datetime, datetime] = WIDE,
) -> list[UsageRow]:
    query = UsageQuery(
        client_id=client_id, since=span[0], until=span[1], group_by=group_by, limit=limit,
        after=after,
    )  # fmt: skip
    return await ledger.report(query)


async def test_a_recorded_call_is_reported_with_its_counts(ledger: UsageLedger) -> None:
    tenant = uuid4()
    await ledger.record([record(tenant, tokens=(120, 7))])

    rows = await report(ledger, tenant, "day")

    assert rows == [
        UsageRow(
            group="2026-03-10", requests=1, failed=0, input_tokens=120, output_tokens=7,
            estimated=False,
        )
    ]  # fmt: skip


async def test_recording_a_record_twice_counts_it_once(ledger: UsageLedger) -> None:
    tenant = uuid4()
    once = record(tenant)
    await ledger.record([once])
    await ledger.record([once, record(tenant)])  # a retried batch, with one new record

    [row] = await report(ledger, tenant, "model")

    assert (row.requests, row.input_tokens) == (2, 20)


async def test_failed_calls_are_counted_apart_and_estimates_flagged(ledger: UsageLedger) -> None:
    tenant = uuid4()
    await ledger.record(
        [
            record(tenant),
            record(tenant, outcome="provider_error", tokens=(0, 0)),
            record(tenant, outcome="timeout", tokens=(0, 0)),
            record(tenant, outcome="cancelled", tokens=(8, 3), estimated=True),
        ]
    )

    [row] = await report(ledger, tenant, "day")

    assert (row.requests, row.failed, row.input_tokens, row.output_tokens) == (4, 3, 18, 8)
    assert row.estimated


async def test_reports_are_per_tenant_and_admins_see_all(ledger: UsageLedger) -> None:
    mine, theirs = uuid4(), uuid4()
    await ledger.record([record(mine), record(theirs), record(theirs)])

    assert [r.requests for r in await report(ledger, mine, "day")] == [1]
    everyone = await report(ledger, None, "day")
    assert sum(r.requests for r in everyone) >= 3


@pytest.mark.parametrize(
    ("group_by", "field"),
    [
        ("character", "character_id"),
        ("end_user", "end_user"),
        ("key", "key_id"),
        ("model", "model"),
    ],
)
async def test_groups_are_ordered_with_calls_of_no_value_first(
    ledger: UsageLedger, group_by: GroupBy, field: str
) -> None:
    tenant = uuid4()
    values: list[object] = sorted([uuid4(), uuid4()], key=str)
    if field in ("end_user", "model"):
        values = ["alice", "bob"]
    records = [record(tenant, **{field: v}) for v in values for _ in range(2)]
    if field != "model":
        records.append(record(tenant))  # no character / end user / key
    await ledger.record(records)

    rows = await report(ledger, tenant, group_by)

    expected = [str(v) for v in values]
    assert [r.group for r in rows] == ([*expected] if field == "model" else [None, *expected])
    assert [r.requests for r in rows][-2:] == [2, 2]


async def test_the_range_is_half_open_and_days_are_utc(ledger: UsageLedger) -> None:
    tenant = uuid4()
    midnight = datetime(2026, 3, 11, tzinfo=UTC)
    await ledger.record(
        [
            record(tenant, at=midnight - timedelta(microseconds=1)),
            record(tenant, at=midnight),
            record(tenant, at=midnight + timedelta(days=1)),  # outside: `to` is excluded
        ]
    )

    rows = await report(
        ledger, tenant, "day", span=(midnight - timedelta(days=1), midnight + timedelta(days=1))
    )

    assert [(r.group, r.requests) for r in rows] == [("2026-03-10", 1), ("2026-03-11", 1)]


async def test_pages_follow_one_another(ledger: UsageLedger) -> None:
    tenant = uuid4()
    users = [f"user-{n:02d}" for n in range(5)]
    await ledger.record([record(tenant, end_user=u) for u in users])

    first = await report(ledger, tenant, "end_user", limit=2)
    assert [r.group for r in first] == users[:3]  # one more than asked: there is a next page
    second = await report(ledger, tenant, "end_user", limit=2, after=users[1])
    assert [r.group for r in second] == users[2:5]
    last = await report(ledger, tenant, "end_user", limit=2, after=users[3])
    assert [r.group for r in last] == users[4:]
