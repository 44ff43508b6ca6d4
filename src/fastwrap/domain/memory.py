"""Long-term memory (SPEC §15): every stored turn of a character with memory becomes a memory
item, recalled on later turns of its scope when it is not already in the history.

Writing is an outbox: the turn's item is stored unembedded before the turn is acknowledged
(one group-committed insert: concurrent turns share it), so an acknowledged turn's memory
survives a restart; the memory worker (memory_worker.py) embeds it off the response path.
Recall embeds the question once (the knowledge search reuses that vector) and reads the
scope's nearest items; a failing memory store or embedder costs a turn its memories, never
the turn itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID, uuid4

from fastwrap.domain.errors import DomainError, Invalid
from fastwrap.domain.group_commit import GroupCommit
from fastwrap.domain.memory_items import MemoryHit, MemoryItem, MemoryQuery
from fastwrap.domain.model import (
    MEMORY_SCOPES,
    Character,
    MemorySettings,
    Message,
    Page,
    check_end_user,
)
from fastwrap.domain.pagination import Cursor, check_limit, page_of
from fastwrap.ports.embeddings import Embedder
from fastwrap.ports.memory import MemoryStore

log = logging.getLogger("fastwrap.memory")

MAX_TOP_K = 20
MAX_ITEM_CHARS = 4_000  # what is kept and embedded of one turn
MAX_LINE_CHARS = 500  # what the prompt shows of one item


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryDefaults:
    """The operator's defaults (the original FastWrap's VECTOR_CHAT_* variables) for characters
    that set no `memory`: `settings` None keeps them forgetful; `max_chars` bounds the memory
    text of any prompt; `label` tags each item there."""

    settings: MemorySettings | None = None
    max_chars: int = 2_400
    label: str = "chat"


@dataclass(frozen=True, slots=True)
class Recall:
    """A turn's candidates, fetched before its history was known: `beyond` keeps those the
    history does not already hold, up to `top_k`."""

    hits: tuple[MemoryHit, ...] = ()
    top_k: int = 0

    def beyond(
        self, history: Sequence[Message], conversation_id: str, forked_from: str | None = None
    ) -> tuple[MemoryHit, ...]:
        if not self.hits:
            return ()
        held = {m.seq for m in history if m.role == "user"}
        here = {conversation_id, forked_from}
        kept = [h for h in self.hits if not (h.item.conversation_id in here and h.item.seq in held)]
        return tuple(kept[: self.top_k])


NO_RECALL = Recall()


def check_memory(memory: MemorySettings) -> None:
    if not 0 <= memory.top_k <= MAX_TOP_K:
        raise Invalid(f"memory.top_k must be between 0 and {MAX_TOP_K}")
    if not -1.0 <= memory.min_score <= 1.0:
        raise Invalid("memory.min_score must be between -1 and 1")
    if memory.scope not in MEMORY_SCOPES:
        raise Invalid(f"memory.scope must be one of {', '.join(MEMORY_SCOPES)}")


def turn_text(question: str, answer: str) -> str:
    """What is kept of a turn: both sides, bounded, without the NUL characters a turn may hold
    and the store cannot."""
    return f"User: {question}\nAssistant: {answer}".replace("\x00", "")[:MAX_ITEM_CHARS]


def memory_prompt(hits: Sequence[MemoryHit], defaults: MemoryDefaults) -> str | None:
    """The system message of recalled items, oldest first, within `max_chars`."""
    lines = ["What you remember from earlier turns (use it when it helps to answer):"]
    size = len(lines[0])
    for hit in sorted(hits, key=lambda h: h.item.created_at):
        text = hit.item.content
        if len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + "..."
        line = f"[{defaults.label} {hit.item.created_at:%Y-%m-%d}] {text}"
        if size + 1 + len(line) > defaults.max_chars:
            break
        lines.append(line)
        size += 1 + len(line)
    return "\n".join(lines) if len(lines) > 1 else None


class MemoryService:
    """`embedder`: the one the knowledge search uses, so that a turn embeds its question once
    for both. `on_written` is called when items are stored (it rings the worker's doorbell)."""

    def __init__(
        self,
        *,
        store: MemoryStore,
        embedder: Embedder,
        defaults: MemoryDefaults,
        on_written: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self.defaults = defaults
        self._on_written = on_written
        self._outbox = GroupCommit[MemoryItem](store.add, what="memory items", log=log)

    def settings_for(self, character: Character) -> MemorySettings | None:
        memory = character.memory if character.memory is not None else self.defaults.settings
        return memory if memory is not None and memory.enabled else None

    def recalling(
        self, character: Character, end_user: str | None, *, new: bool
    ) -> MemorySettings | None:
        """The settings a turn of `character` for `end_user` recalls with; None when it has
        nothing to recall (`new`: in a conversation it starts)."""
        memory = self.settings_for(character)
        if memory is None or memory.top_k == 0:
            return None
        if memory.scope == "conversation" and new:
            return None
        if memory.scope == "end_user" and end_user is None:
            return None
        return memory

    async def embed(self, text: str) -> tuple[tuple[float, ...], str] | None:
        """The vector of `text` and the name of the model that made it; None when the embedder
        failed (logged: the turn goes on without memories)."""
        try:
            [vector] = await self._embedder.embed([text])
        except DomainError as exc:
            log.warning("memory not recalled: %s", exc.detail)
            return None
        return vector, self._embedder.model

    async def recall(
        self,
        character: Character,
        memory: MemorySettings,
        *,
        end_user: str | None,
        conversation_id: str,
        vector: tuple[float, ...],
        model: str,
        room: int,
    ) -> Recall:
        """The candidates of the character's scope (`memory`: what `recalling` gave): `room`
        more than top_k, for those the history may hold (at most one per question it shows)."""
        query = MemoryQuery(
            client_id=character.client_id,
            character_id=character.id,
            end_user=end_user,
            conversation_id=conversation_id if memory.scope == "conversation" else None,
            embedding=vector,
            model=model,
            limit=memory.top_k + room,
        )
        try:
            hits = await self._store.recall(query)
        except DomainError as exc:
            log.warning("memory not recalled: %s", exc.detail)
            return NO_RECALL
        return Recall(tuple(h for h in hits if h.score >= memory.min_score), memory.top_k)

    async def remember(
        self,
        character: Character,
        *,
        end_user: str | None,
        conversation_id: str,
        question: Message,
        answer: str,
    ) -> None:
        """Store the turn's item durably (the outbox) if the character remembers; a failure
        is logged, never raised."""
        if self.settings_for(character) is None:
            return
        item = MemoryItem(
            id=uuid4(),
            client_id=character.client_id,
            character_id=character.id,
            end_user=end_user,
            conversation_id=conversation_id,
            seq=question.seq,
            content=turn_text(question.content, answer),
            created_at=question.created_at,
        )
        try:
            await self._outbox.record(item)
        except Exception as exc:  # the turn is stored: its memory must not undo it
            detail = exc.detail if isinstance(exc, DomainError) else type(exc).__name__
            log.warning("memory of a turn not stored: %s", detail)
            return
        self._on_written()

    async def items(
        self, client_id: UUID, end_user: str, cursor: str | None, limit: int
    ) -> Page[MemoryItem]:
        check_end_user(end_user)
        check_limit(limit)
        after = Cursor.decode(cursor) if cursor else None
        rows = await self._store.list(client_id, end_user, after, limit + 1)
        return page_of(rows, limit, lambda i: Cursor(i.created_at, i.id))

    async def erase(self, client_id: UUID, end_user: str) -> int:
        """Delete the end user's items for good, those still being written included."""
        await self.flush()
        return await self._store.erase(client_id, end_user)

    async def flush(self) -> None:
        """Wait until the items being written are stored (at shutdown)."""
        await self._outbox.aclose()
