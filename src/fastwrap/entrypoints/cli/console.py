"""What every `fastwrap` command shares: settings, the running container, one-line errors, output.

A command is a few lines: parse its options, `run(work)` a coroutine over the Services, print.
Domain errors and bad configuration become `error: ...` on stderr and exit status 1, never a
traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from uuid import UUID

import typer
from pydantic import ValidationError

from fastwrap.domain.errors import DomainError
from fastwrap.settings import Settings

if TYPE_CHECKING:
    from fastwrap.container import Services

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]
ClientRef = Annotated[str, typer.Option("--client", "-c", help="The client's id or email.")]


def fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(1)


def parse_id(text: str, what: str) -> UUID:
    """A UUID argument, or one error line (ids FastWrap assigns are UUIDs)."""
    try:
        return UUID(text)
    except ValueError:
        fail(f"{what} {text!r} is not a valid id (a UUID)")


def load_settings() -> Settings:
    """Settings from the environment and .env; bad values are one line each, then exit 1."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = [
            f"{'.'.join(str(p) for p in err['loc']).upper() or 'configuration'}: {err['msg']}"
            for err in exc.errors()
        ]
        fail("bad configuration: " + "; ".join(lines))


@contextmanager
def quiet_startup(settings: Settings) -> Iterator[None]:
    """Keep the start-up fallback warnings (offline model, in-process cache, ...) off an admin
    command's output; `fastwrap health` shows the adapters in use, LOG_LEVEL=DEBUG shows all."""
    logger = logging.getLogger("fastwrap")
    before = logger.level
    if settings.log_level != "DEBUG":
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


def run_async[T](work: Coroutine[Any, Any, T], settings: Settings) -> T:
    """Run a coroutine to completion; any failure ends the command with one line, exit 1."""
    try:
        with quiet_startup(settings):
            return asyncio.run(work)
    except (typer.Exit, typer.Abort):
        raise
    except DomainError as exc:
        fail(exc.detail)
    except Exception as exc:
        # A driver error nobody translated, or a bug: still one line (a traceback could show
        # secrets from local variables); LOG_LEVEL=DEBUG lets it through with its traceback.
        if settings.log_level == "DEBUG":
            raise
        reason = " ".join(str(exc).split()) or "no detail"
        fail(f"{type(exc).__name__}: {reason} (LOG_LEVEL=DEBUG shows the traceback)")


def run[T](work: Callable[[Services], Awaitable[T]], settings: Settings | None = None) -> T:
    """Start the container as the API does, run `work` on its services, and shut it down."""
    settings = settings or load_settings()
    # One action, then exit: the lookup caches would only cost a listening connection and its
    # start-up probe (up to seconds where the database passes no notices on).
    one_shot = settings.model_copy(update={"lookup_cache_size": 0})

    async def session() -> T:
        from fastwrap.container import make_container, running

        async with running(make_container(one_shot)) as services:
            return await work(services)

    return run_async(session(), settings)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def print_rows(rows: list[list[str]], header: list[str]) -> None:
    """Left-aligned columns, as wide as their widest cell."""
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())
