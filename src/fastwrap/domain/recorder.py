"""Group commit for the usage ledger (group_commit.py): concurrent calls' records share one
write.

A call's record is written before its turn is acknowledged (a 201 means its usage is stored,
SPEC §13), but calls do not each pay a write: with one call at a time that is one round trip
per call; under load, one per batch, so the ledger's cost per call falls as the load rises.
"""

from __future__ import annotations

from fastwrap.domain.group_commit import MAX_BATCH, GroupCommit
from fastwrap.domain.usage import UsageRecord
from fastwrap.ports.usage import UsageLedger

__all__ = ["MAX_BATCH", "UsageRecorder"]


class UsageRecorder(GroupCommit[UsageRecord]):
    def __init__(self, ledger: UsageLedger, *, max_batch: int = MAX_BATCH) -> None:
        super().__init__(ledger.record, what="usage records", max_batch=max_batch)
