"""`fastwrap vectors import FILE`: all-or-nothing validation, one upsert, a final count."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import pytest

import fastwrap
from fastwrap.domain.imports import BadLine, ImportLine, parse_line
from tests.cli.conftest import Cli, Seeded
from tests.support.openai_stub import OpenAIStub


def snippet(number: int, **extra: Any) -> dict[str, Any]:
    return {
        "entity_type": "faq",
        "entity_id": f"q{number}",
        "content": f"answer number {number} about ships and harbours",
        "metadata": {"n": number},
        **extra,
    }


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def good_file(tmp_path: Path, count: int) -> Path:
    return write_jsonl(tmp_path / "good.jsonl", [json.dumps(snippet(n)) for n in range(count)])


def stored(cli: Cli, client_id: str, **filters: Any) -> list[str]:
    async def work(app: fastwrap.FastWrap) -> list[str]:
        hits = await app.vectors.search(UUID(client_id), "ships", top_k=50, **filters)
        return [hit.snippet.entity_id for hit in hits]

    return cli.with_app(work)


def read_snippets(path: Path) -> list[ImportLine]:
    """The file's lines through the import's own checks (duplicates aside)."""
    lines = path.read_bytes().split(b"\n")
    return [parse_line(n, raw, 8) for n, raw in enumerate(lines, start=1) if raw.strip()]


def waiting_for_the_index(dsn: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return int(await conn.fetchval(WAITING))
        finally:
            await conn.close()

    return asyncio.run(count())


WAITING = "SELECT count(*) FROM embeddings WHERE deleted_at IS NULL AND graph_pending"


def test_import_upserts_every_line(pg_cli: Cli, ada: Seeded, tmp_path: Path, pg_dsn: str) -> None:
    path = good_file(tmp_path, 230)

    result = pg_cli.ok("vectors", "import", str(path), "--client", ada.email)

    assert result.stdout.strip().splitlines()[-1] == "imported 230 snippets"
    assert waiting_for_the_index(pg_dsn) == 0  # the command indexed what it imported
    assert stored(pg_cli, ada.client_id, metadata={"n": 229}) == ["q229"]
    assert stored(pg_cli, ada.client_id, metadata={"n": 0}) == ["q0"]
    assert len(stored(pg_cli, ada.client_id)) == 50


def test_import_again_replaces_instead_of_duplicating(
    pg_cli: Cli, ada: Seeded, tmp_path: Path
) -> None:
    path = good_file(tmp_path, 3)
    pg_cli.ok("vectors", "import", str(path), "-c", ada.client_id)
    pg_cli.ok("vectors", "import", str(path), "-c", ada.client_id)

    assert sorted(stored(pg_cli, ada.client_id)) == ["q0", "q1", "q2"]


def test_a_bad_line_three_refuses_the_whole_file(pg_cli: Cli, ada: Seeded, tmp_path: Path) -> None:
    lines = [json.dumps(snippet(1)), json.dumps(snippet(2)), json.dumps({"entity_type": "faq"})]
    lines += [json.dumps(snippet(n)) for n in range(4, 200)]
    path = write_jsonl(tmp_path / "bad.jsonl", lines)

    line = pg_cli.error("vectors", "import", str(path), "--client", ada.email)

    assert "line 3:" in line
    assert "'entity_id' is required" in line
    assert "nothing was imported" in line
    assert stored(pg_cli, ada.client_id) == []


def test_import_reports_an_unknown_client(pg_cli: Cli, tmp_path: Path) -> None:
    path = good_file(tmp_path, 1)
    line = pg_cli.error("vectors", "import", str(path), "--client", "nobody@example.com")
    assert line.startswith("error: no client")


def test_import_refuses_an_empty_file(pg_cli: Cli, ada: Seeded, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "empty.jsonl", ["", "  "])
    assert "holds no snippets" in pg_cli.error("vectors", "import", str(path), "-c", ada.email)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps(snippet(1, extra=True)), "unknown field 'extra'"),
        (json.dumps(snippet(1, content=7)), "'content' is required and must be a string"),
        (json.dumps(snippet(1, content="")), "content must be 1-32000 characters"),
        (json.dumps(snippet(1, entity_type="bad type")), "entity_type must be"),
        (json.dumps(snippet(1, entity_id="x" * 129)), "entity_id must be"),
        (json.dumps(snippet(1, metadata=[1])), "'metadata' must be a JSON object"),
        (json.dumps(snippet(1, metadata={"k": "v" * 20_000})), "metadata must be at most"),
        (json.dumps(snippet(1, content="a\x00b")), "NUL"),
        (json.dumps(snippet(1, metadata={"k": "a\x00b"})), "NUL"),
        ('{"entity_type": "faq", "entity_id": "q", "content": "x", "metadata": {"n": NaN}}', "NaN"),
        (json.dumps(snippet(1, embedding=[0.5] * 7)), "list of 8 numbers"),
        (json.dumps(snippet(1, embedding=[0.5] * 7 + ["x"])), "finite numbers"),
        (json.dumps(snippet(1, embedding=[0.5] * 7 + [1e300])), "32-bit float"),
        ('{"entity_type": "faq", "entity_id": "q", "content": "x", "embedding": '
         '[1, 1, 1, 1, 1, 1, 1, Infinity]}', "Infinity"),
    ],
)  # fmt: skip
def test_each_rule_names_the_line_and_the_reason(tmp_path: Path, line: str, reason: str) -> None:
    path = write_jsonl(tmp_path / "file.jsonl", [json.dumps(snippet(0)), "", line])

    with pytest.raises(BadLine) as refused:
        read_snippets(path)

    assert refused.value.number == 3
    assert reason in refused.value.reason


def test_a_repeated_entity_names_both_lines(pg_cli: Cli, ada: Seeded, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "twice.jsonl", [json.dumps(snippet(0))] * 2)
    assert "line 2: faq/q0 already appears on line 1" in pg_cli.error(
        "vectors", "import", str(path), "-c", ada.email
    )


def test_blank_lines_a_bom_and_missing_metadata_are_fine(tmp_path: Path) -> None:
    bare = {"entity_type": "faq", "entity_id": "a@b", "content": "x"}
    path = tmp_path / "file.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(bare).encode() + b"\n\n\r\n")

    [only] = read_snippets(path)

    assert (only.snippet.entity_id, only.snippet.content, dict(only.snippet.metadata)) == (
        "a@b", "x", {},
    )  # fmt: skip


def test_an_embedding_failure_stores_nothing(
    pg_cli: Cli, ada: Seeded, tmp_path: Path, openai_stub: OpenAIStub
) -> None:
    pg_cli.env |= {
        "EMBEDDING_KEY": "sk-test-secret-key-123",
        "EMBEDDING_BASE_URL": openai_stub.base_url,
        "MODEL_MAX_RETRIES": "0",
    }
    openai_stub.set_failure(500)
    path = good_file(tmp_path, 3)

    line = pg_cli.error("vectors", "import", str(path), "--client", ada.email)

    assert line.startswith("error: embedding provider error (500)")
    assert stored(pg_cli, ada.client_id) == []
