"""`fastwrap documents add PATH...`: files become documents, named by their stem."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import fastwrap
from tests.cli.conftest import Cli, Seeded
from tests.support.pdf import make_pdf


def found(cli: Cli, client_id: str, word: str) -> list[tuple[str, object]]:
    async def work(app: fastwrap.FastWrap) -> list[tuple[str, object]]:
        hits = await app.vectors.search(UUID(client_id), word, top_k=50, mode="keyword")
        return sorted((h.snippet.entity_id, h.snippet.metadata.get("team")) for h in hits)

    return cli.with_app(work)


def test_files_become_documents_with_a_line_each(pg_cli: Cli, ada: Seeded, tmp_path: Path) -> None:
    (tmp_path / "manual.md").write_text("# Manual\n\n" + "gearbox " * 300, encoding="utf-8")
    (tmp_path / "leaflet.pdf").write_bytes(make_pdf(["gearbox warranty leaflet"]))

    result = pg_cli.ok(
        "documents", "add", str(tmp_path / "manual.md"), str(tmp_path / "leaflet.pdf"),
        "--client", ada.email, "--type", "docs", "--metadata", '{"team": "support"}',
        "--chunk-size", "500", "--chunk-overlap", "0",
    )  # fmt: skip

    assert result.stdout.splitlines() == ["manual: 6 chunks", "leaflet: 1 chunks"]
    hits = found(pg_cli, ada.client_id, "gearbox")
    assert ("leaflet#0", "support") in hits
    # The heading is a chunk of its own: the splitter cuts markdown at its blocks first.
    assert [h for h in hits if h[0].startswith("manual#")] == [
        (f"manual#{n}", "support") for n in range(1, 6)
    ]


def test_an_unknown_kind_of_file_is_refused(pg_cli: Cli, ada: Seeded, tmp_path: Path) -> None:
    (tmp_path / "sheet.xlsx").write_bytes(b"PK")
    line = pg_cli.error(
        "documents", "add", str(tmp_path / "sheet.xlsx"), "-c", ada.email, "-t", "d"
    )
    assert "must be .txt, .md, .html or .pdf" in line
