"""`fastwrap chat`: talk to a character in the terminal, the reply streamed as it is written."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from fastwrap.domain.chat import TurnRequest, TurnResult
from fastwrap.domain.errors import DomainError
from fastwrap.domain.model import Character, Client, check_conversation_id
from fastwrap.entrypoints.cli.console import ClientRef, parse_id, run
from fastwrap.entrypoints.cli.tenants import find_client

if TYPE_CHECKING:
    from fastwrap.container import Services

RESET = "/reset"
EXIT = "/exit"


def _read_line() -> str | None:
    """The next line typed, or None at end of input.

    Read on the event loop's own thread on purpose: nothing else runs between turns, and Ctrl-C
    then interrupts the read at once (a reader thread would keep the process alive, blocked
    on stdin, until Enter).
    """
    line = sys.stdin.readline()
    return line.rstrip("\r\n") if line else None


async def _say(
    services: Services, owner: Client, character: Character, text: str, conversation: str | None
) -> str | None:
    """One streamed turn; returns the conversation id to continue with."""
    request = TurnRequest(character_id=character.id, content=text, conversation_id=conversation)
    sources = ""
    typer.echo(f"{character.name or 'assistant'}> ", nl=False)
    try:
        async for part in await services.chat.stream_turn(owner.id, request):
            if isinstance(part, TurnResult):
                conversation = part.conversation_id
                sources = ", ".join(
                    f"{h.snippet.entity_type}/{h.snippet.entity_id}" for h in part.sources
                )
            else:
                typer.echo(part.content, nl=False)
                sys.stdout.flush()
    except DomainError as exc:
        # A failed turn stores nothing; the session goes on with the history it had.
        typer.echo()
        typer.secho(f"error: {exc.detail}", err=True, fg=typer.colors.RED)
        return conversation
    typer.echo()
    if sources:
        typer.secho(f"  (knowledge: {sources})", dim=True)
    return conversation


async def _session(
    services: Services, client_ref: str, character_id: UUID, conversation: str | None
) -> None:
    if conversation is not None:
        check_conversation_id(conversation)
    owner = await find_client(services, client_ref)
    character = await services.characters.get(owner.id, character_id)
    typer.echo(
        f"chatting with {character.name or character.id}; "
        f"{RESET} starts a new conversation, {EXIT} or Ctrl-D quits"
    )
    while True:
        typer.echo("you> ", nl=False)
        line = _read_line()
        if line is None or line.strip() == EXIT:
            break
        text = line.strip()
        if not text:
            continue
        if text == RESET:
            conversation = None
            typer.echo("(new conversation)")
            continue
        conversation = await _say(services, owner, character, text, conversation)
    typer.echo()
    if conversation is not None:
        typer.echo(f"conversation: {conversation}")


def chat(
    character_id: Annotated[str, typer.Argument(help="The character's id.")],
    client: ClientRef,
    conversation: Annotated[
        str | None,
        typer.Option(help="Continue this conversation id (default: start a new one)."),
    ] = None,
) -> None:
    """Chat with a character: type a line, read the streamed reply.

    History is kept for the session (and in Redis across sessions when configured: pass
    --conversation to continue). /reset starts a new conversation; /exit or Ctrl-D quits.
    """
    wanted = parse_id(character_id, "character")
    run(lambda services: _session(services, client, wanted, conversation))
