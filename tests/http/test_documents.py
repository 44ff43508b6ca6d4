"""Documents over HTTP (SPEC §15): markdown, HTML and a real PDF split into `document_id#n`
snippets with their metadata, replaced whole on re-upload, listed, deleted, and large ones
done by the background worker as a job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.app import Tenant, app_client, hermetic_settings, sign_up
from tests.support.pdf import make_pdf

INLINE_MAX = 4096


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.integration)])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    options: dict[str, Any] = {"document_inline_max_bytes": INLINE_MAX, "job_poll_seconds": 0.2}
    if request.param == "postgres":
        dsn = request.getfixturevalue("pg_dsn")
        options |= {"fastwrap_storage": "postgres", "database_url": dsn}
    async with app_client(hermetic_settings(**options)) as client:
        yield client


@pytest.fixture
async def alice(api: httpx.AsyncClient) -> Tenant:
    return await sign_up(api, "alice@example.com")


def guide(sections: int) -> str:
    return "\n\n".join(
        f"## Section {n}\n\n" + " ".join(f"word{n}x{i}" for i in range(60)) for n in range(sections)
    )


async def add(api: httpx.AsyncClient, tenant: Tenant, **body: Any) -> httpx.Response:
    return await api.post("/api/documents", json=body, headers=tenant.headers)


async def chunks(api: httpx.AsyncClient, tenant: Tenant, query: str) -> list[dict[str, Any]]:
    body = {"query": query, "mode": "keyword", "top_k": 50, "entity_type": "guide"}
    response = await api.post("/api/vectors/search", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return sorted(response.json()["data"], key=lambda hit: hit["metadata"]["chunk"])


async def test_markdown_is_split_at_its_boundaries_with_metadata_on_every_chunk(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    text = guide(6)
    response = await add(
        api, alice, entity_type="guide", document_id="handbook", content=text,
        format="markdown", metadata={"lang": "en"}, chunk_size=600, chunk_overlap=60,
    )  # fmt: skip

    assert response.status_code == 201, response.text
    document = response.json()["data"]
    assert (document["chunks"], document["characters"]) == (6, len(text))
    hits = await chunks(api, alice, " ".join(f"word{n}x0" for n in range(6)))
    assert [h["entity_id"] for h in hits] == [f"handbook#{n}" for n in range(6)]
    for n, hit in enumerate(hits):
        assert hit["metadata"] == {"lang": "en", "document_id": "handbook", "chunk": n}
        assert hit["content"].startswith(f"## Section {n}")  # split at the headings
        assert len(hit["content"]) <= 600


async def test_a_real_pdf_and_an_html_page_upload_as_files(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    pdf = make_pdf(["Refunds take zebra days", "Shipping uses quokka couriers"])
    form = {"entity_type": "guide", "document_id": "policy", "metadata": '{"kind": "pdf"}'}
    files = {"file": ("policy.pdf", pdf, "application/pdf")}
    response = await api.post("/api/documents", data=form, files=files, headers=alice.headers)
    assert response.status_code == 201, response.text
    assert (response.json()["data"]["format"], response.json()["data"]["source"]) == (
        "pdf", "policy.pdf",
    )  # fmt: skip
    [hit] = await chunks(api, alice, "quokka")
    assert "Refunds take zebra days" in hit["content"]
    assert hit["metadata"] == {"kind": "pdf", "document_id": "policy", "chunk": 0}

    html = (
        b"<html><head><script>hidden()</script></head>"
        b"<body><h1>Opening</h1><p>Open at <b>nine</b></p></body></html>"
    )
    files = {"file": ("hours.html", html, "text/html")}
    form = {"entity_type": "guide", "document_id": "hours"}
    response = await api.post("/api/documents", data=form, files=files, headers=alice.headers)
    assert response.status_code == 201, response.text
    [hit] = await chunks(api, alice, "nine")
    assert hit["content"] == "# Opening\n\nOpen at nine"


async def test_a_reupload_replaces_the_document_and_drops_its_extra_chunks(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    first = (await add(api, alice, entity_type="guide", document_id="faq", content=guide(5),
                       format="markdown", chunk_size=600)).json()["data"]  # fmt: skip
    response = await add(api, alice, entity_type="guide", document_id="faq",
                         content="## Only\n\nnew words", format="markdown")  # fmt: skip
    second = response.json()["data"]

    assert (second["id"], second["created_at"], second["chunks"]) == (
        first["id"],
        first["created_at"],
        1,
    )
    assert await chunks(api, alice, "word3x0 word0x0") == []
    assert [h["entity_id"] for h in await chunks(api, alice, "new")] == ["faq#0"]
    listed = (await api.get("/api/documents", headers=alice.headers)).json()["data"]
    assert [d["document_id"] for d in listed["items"]] == ["faq"]


async def test_documents_list_in_pages_and_delete_with_their_chunks(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    for n in range(3):
        await add(api, alice, entity_type="guide", document_id=f"d{n}", content=f"text{n} here")
    page = (await api.get("/api/documents?limit=2", headers=alice.headers)).json()["data"]
    rest = await api.get(
        f"/api/documents?limit=2&cursor={page['next_cursor']}", headers=alice.headers
    )
    ids = [d["document_id"] for d in page["items"] + rest.json()["data"]["items"]]
    assert sorted(ids) == ["d0", "d1", "d2"]

    assert (await api.delete("/api/documents/guide/d1", headers=alice.headers)).status_code == 204
    assert await chunks(api, alice, "text1") == []
    assert (await api.delete("/api/documents/guide/d1", headers=alice.headers)).status_code == 404


async def test_a_large_document_is_a_job_with_progress(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    text = guide(40)  # well over INLINE_MAX
    response = await add(api, alice, entity_type="guide", document_id="big", content=text,
                         format="markdown", chunk_size=600)  # fmt: skip
    assert response.status_code == 202, response.text
    job = response.json()["data"]
    assert response.headers["location"] == f"/api/jobs/{job['id']}"
    assert job["status"] in ("queued", "running")

    for _ in range(300):
        job = (await api.get(f"/api/jobs/{job['id']}", headers=alice.headers)).json()["data"]
        if job["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "succeeded", job
    total = job["result"]["document"]["chunks"]
    assert total >= 40
    assert job["progress"] == {"done": total, "total": total}
    assert len(await chunks(api, alice, "word39x1 word0x1")) == 2

    bob = await sign_up(api, "bob@example.com")
    assert (await api.get(f"/api/jobs/{job['id']}", headers=bob.headers)).status_code == 404


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"content": "a\u0000b"}, "NUL"),
        ({"content": "x", "metadata": {"document_id": "other"}}, "set by FastWrap"),
        ({"content": "x", "chunk_size": 200, "chunk_overlap": 150}, "chunk_overlap"),
        ({"content": "x", "document_id": "bad id"}, "document_id"),
        ({"content": ""}, "content"),
    ],
)
async def test_bad_documents_are_refused_and_nothing_is_stored(
    api: httpx.AsyncClient, alice: Tenant, body: dict[str, Any], reason: str
) -> None:
    response = await add(api, alice, **{"entity_type": "guide", "document_id": "d", **body})

    assert response.status_code == 422, response.text
    assert reason in response.text
    assert (await api.get("/api/documents", headers=alice.headers)).json()["data"]["items"] == []


async def test_nan_metadata_and_unknown_files_are_refused(
    api: httpx.AsyncClient, alice: Tenant
) -> None:
    raw = b'{"entity_type": "guide", "document_id": "d", "content": "x", "metadata": {"n": NaN}}'
    headers = {**alice.headers, "content-type": "application/json"}
    assert (await api.post("/api/documents", content=raw, headers=headers)).status_code == 422
    files = {"file": ("sheet.xlsx", b"PK..", "application/octet-stream")}
    form = {"entity_type": "guide", "document_id": "d"}
    response = await api.post("/api/documents", data=form, files=files, headers=alice.headers)
    assert response.status_code == 422
    files = {"file": ("broken.pdf", b"%PDF-1.4 not really", "application/pdf")}
    response = await api.post("/api/documents", data=form, files=files, headers=alice.headers)
    assert response.status_code == 422
    assert "PDF" in response.json()["detail"]
