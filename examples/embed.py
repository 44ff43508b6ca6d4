"""Embedding FastWrap in a plain Python program: no HTTP server, the same use cases.

    FASTWRAP_STORAGE=memory uv run python examples/embed.py

With no configuration at all it uses the embedded PostgreSQL in ./.fastwrap (data persists);
FASTWRAP_STORAGE=memory keeps everything in memory. Without MODEL_KEY the replies come from the
offline model, and without EMBEDDING_KEY the embedder is the local hashing one, so this runs
anywhere. Set MODEL=gpt-4o-mini and MODEL_KEY=... for real replies.
"""

from __future__ import annotations

import asyncio
from uuid import uuid4

import fastwrap

PASSWORD = "Correct-Horse-9-battery"

SNIPPETS = [
    fastwrap.SnippetInput(
        entity_type="faq",
        entity_id="opening-hours",
        content="The harbour shop is open from 9 to 17, Monday to Saturday.",
        metadata={"lang": "en"},
    ),
    fastwrap.SnippetInput(
        entity_type="faq",
        entity_id="parrots",
        content="Parrots are sold with a cage and a year of seed.",
        metadata={"lang": "en"},
    ),
]


async def main(settings: fastwrap.Settings | None = None) -> None:
    async with fastwrap.open(settings) as app:
        # A tenant of our own; the email is unique so the example can run again on stored data.
        issued = await app.clients.sign_up(f"embed-{uuid4().hex[:8]}@example.com", PASSWORD)
        tenant = issued.client.id
        print(f"client: {issued.client.email} (key {issued.api_key[:6]}..., shown once)")

        await app.vectors.upsert(tenant, SNIPPETS)
        hits = await app.vectors.search(tenant, "when is the shop open?", top_k=1)
        print(f"search: {hits[0].snippet.entity_id} (score {hits[0].score:.2f})")

        pirate = await app.characters.create(
            tenant,
            fastwrap.CharacterDraft(
                name="Pirate",
                agent_role="You are a cheerful pirate who runs the harbour shop.",
                knowledge=fastwrap.Knowledge(entity_types=("faq",), top_k=2, min_score=0.1),
            ),
        )
        print(f"character: {pirate.name} ({pirate.id})")

        first = await app.chat.turn(
            tenant, fastwrap.TurnRequest(character_id=pirate.id, content="Ahoy! Who are you?")
        )
        print(f"turn 1: {first.reply.content}")
        second = await app.chat.turn(
            tenant,
            fastwrap.TurnRequest(
                character_id=pirate.id,
                content="When is the shop open?",
                conversation_id=first.conversation_id,
            ),
        )
        print(f"turn 2: {second.reply.content}")
        print(f"sources: {[hit.snippet.entity_id for hit in second.sources]}")

        print("turn 3 (streamed): ", end="", flush=True)
        stream = await app.chat.stream_turn(
            tenant,
            fastwrap.TurnRequest(
                character_id=pirate.id,
                content="Do you sell parrots?",
                conversation_id=first.conversation_id,
            ),
        )
        async for part in stream:
            if isinstance(part, fastwrap.TurnResult):
                print()
            else:
                print(part.content, end="", flush=True)

        history = await app.chat.conversation(tenant, first.conversation_id)
        print(f"history: {len(history.messages)} messages in conversation {history.id}")
        report = await app.health.report()
        print("health: " + ", ".join(f"{n}={s.adapter}" for n, s in report.checks.items()))


if __name__ == "__main__":
    asyncio.run(main())
