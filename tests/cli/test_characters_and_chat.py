"""`fastwrap characters list|show` and the interactive `fastwrap chat`, on PostgreSQL."""

from __future__ import annotations

import json
import re
from uuid import UUID

import pytest

import fastwrap
from tests.cli.conftest import Cli, Seeded, seed

MISSING = "00000000-0000-4000-8000-000000000000"


def test_characters_list_shows_the_clients_characters(pg_cli: Cli, ada: Seeded) -> None:
    seed(pg_cli, "bob@example.com")  # another tenant's character is not listed

    text = pg_cli.ok("characters", "list", "--client", ada.email).stdout
    assert ada.character_id in text
    assert "You are a pirate." in text

    listed = json.loads(pg_cli.ok("characters", "list", "-c", ada.client_id, "--json").stdout)
    assert [c["id"] for c in listed["items"]] == [ada.character_id]
    assert listed["next_cursor"] is None


def test_characters_list_reports_an_unknown_client(pg_cli: Cli) -> None:
    line = pg_cli.error("characters", "list", "--client", "nobody@example.com")
    assert line.startswith("error: no client")


def test_characters_show_prints_the_whole_character(pg_cli: Cli, ada: Seeded) -> None:
    text = pg_cli.ok("characters", "show", ada.character_id, "--client", ada.email).stdout
    assert "name:       Pirate" in text
    assert text.rstrip().endswith("You are a pirate.")

    shown = json.loads(
        pg_cli.ok("characters", "show", ada.character_id, "-c", ada.email, "--json").stdout
    )
    assert shown["id"] == ada.character_id
    assert shown["agent_role"] == "You are a pirate."
    assert shown["knowledge"] is None


def test_characters_show_hides_another_tenants_character(pg_cli: Cli, ada: Seeded) -> None:
    bob = seed(pg_cli, "bob@example.com")
    line = pg_cli.error("characters", "show", bob.character_id, "--client", ada.email)
    assert line == "error: character not found"


def test_characters_show_refuses_a_malformed_id(pg_cli: Cli, ada: Seeded) -> None:
    line = pg_cli.error("characters", "show", "not-a-uuid", "--client", ada.email)
    assert line == "error: character 'not-a-uuid' is not a valid id (a UUID)"


def replies(stdout: str) -> list[str]:
    """The assistant's replies, one per turn (the offline model numbers the user's turns)."""
    return re.findall(r"Pirate> (\[offline\][^\n]*?)(?=you> |\n|$)", stdout)


def test_chat_streams_replies_and_keeps_history_until_reset(pg_cli: Cli, ada: Seeded) -> None:
    typed = "hello\nsecond\n/reset\nagain\n/exit\nnever sent\n"
    result = pg_cli.ok("chat", ada.character_id, "--client", ada.email, input=typed)

    said = replies(result.stdout)
    assert len(said) == 3
    assert "turn 1" in said[0]
    assert "you said: hello" in said[0]
    assert "turn 2" in said[1]  # the first turn is in the history
    assert "you said: second" in said[1]
    assert "turn 1" in said[2]  # /reset started a new conversation
    assert "you said: again" in said[2]
    assert "(new conversation)" in result.stdout
    assert "never sent" not in result.stdout
    assert re.search(r"conversation: [0-9a-f]{32}", result.stdout)


def test_chat_ends_at_end_of_input(pg_cli: Cli, ada: Seeded) -> None:
    result = pg_cli.ok("chat", ada.character_id, "-c", ada.email, input="hello\n\nhi again")
    said = replies(result.stdout)
    assert len(said) == 2
    assert "turn 2" in said[1]


def test_chat_continues_a_conversation_kept_in_redis(
    pg_cli: Cli, ada: Seeded, redis_url: str, redis_namespace: str
) -> None:
    pg_cli.env |= {"REDIS_URL": redis_url, "REDIS_KEY_PREFIX": redis_namespace}
    args = ("chat", ada.character_id, "-c", ada.email, "--conversation", "session-42")
    pg_cli.ok(*args, input="hello\n/exit\n")

    later = pg_cli.ok(*args, input="remember me?\n/exit\n")  # another process, same history
    [said] = replies(later.stdout)
    assert "turn 2" in said


@pytest.mark.parametrize(
    ("character", "client", "error"),
    [
        (MISSING, "ada@example.com", "error: character not found"),
        ("nope", "ada@example.com", "error: character 'nope' is not a valid id (a UUID)"),
        (None, "nobody@example.com", "error: no client with id or email 'nobody@example.com'"),
    ],
)
def test_chat_refuses_a_missing_character_or_client(
    pg_cli: Cli, ada: Seeded, character: str | None, client: str, error: str
) -> None:
    line = pg_cli.error("chat", character or ada.character_id, "--client", client, input="hi\n")
    assert line == error


def test_chat_refuses_a_malformed_conversation_id(pg_cli: Cli, ada: Seeded) -> None:
    args = ("chat", ada.character_id, "-c", ada.email, "--conversation", "no spaces")
    assert "conversation_id must be" in pg_cli.error(*args, input="hi\n")


async def _librarian(app: fastwrap.FastWrap, client_id: str) -> str:
    owner = UUID(client_id)
    await app.vectors.upsert(
        owner, [fastwrap.SnippetInput(entity_type="faq", entity_id="hours", content="open at 9")]
    )
    knowledge = fastwrap.Knowledge(entity_types=("faq",), top_k=1, min_score=0.1)
    draft = fastwrap.CharacterDraft(name="Librarian", agent_role="Help.", knowledge=knowledge)
    return str((await app.characters.create(owner, draft)).id)


def test_chat_and_show_name_the_characters_knowledge(pg_cli: Cli, ada: Seeded) -> None:
    character_id = pg_cli.with_app(lambda app: _librarian(app, ada.client_id))

    shown = json.loads(
        pg_cli.ok("characters", "show", character_id, "-c", ada.email, "--json").stdout
    )
    assert shown["knowledge"] == {
        "entity_types": ["faq"], "top_k": 1, "min_score": 0.1, "mode": "vector",
    }  # fmt: skip
    result = pg_cli.ok("chat", character_id, "-c", ada.email, input="when do you open?\n")
    assert "1 knowledge note(s)" in result.stdout
    assert "(knowledge: faq/hours)" in result.stdout
