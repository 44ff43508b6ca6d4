"""The read routes' plain JSON (orjson) is the JSON of the response models OpenAPI declares."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
from hypothesis import given
from hypothesis import strategies as st

from fastwrap.domain.model import Character, Knowledge, SearchHit, Snippet
from fastwrap.entrypoints.http.responses import ok, plain_ok
from fastwrap.entrypoints.http.schemas import CharacterOut, HitOut

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
) | st.datetimes(timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))
knowledge = st.builds(
    Knowledge,
    entity_types=st.lists(texts, max_size=3).map(tuple),
    top_k=st.integers(1, 50),
    min_score=st.floats(0, 1) | st.sampled_from([0.0, 1.0, 0.1, 1e-7, 0.3]),
    mode=st.sampled_from(["vector", "keyword", "hybrid"]),
)
characters = st.builds(
    Character,
    id=st.uuids(),
    client_id=st.uuids(),
    name=st.none() | texts,
    agent_role=texts.filter(bool),
    ttl=st.none() | st.integers(1, 86_400),
    knowledge=st.none() | knowledge,
    created_at=moments,
    updated_at=moments,
)


def _model_json(message: str, data: object) -> object:
    """What FastAPI-through-pydantic would send: the envelope's own JSON."""
    return json.loads(ok(message, data).model_dump_json())


@given(characters)
def test_a_plain_character_is_its_models_json(character: Character) -> None:
    sent = orjson.loads(plain_ok("character", CharacterOut.plain(character)).body)

    assert sent == _model_json("character", CharacterOut.of(character))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
hits = st.builds(
    SearchHit,
    snippet=st.builds(
        Snippet,
        id=st.uuids(),
        client_id=st.uuids(),
        entity_type=texts,
        entity_id=texts,
        content=texts,
        metadata=st.dictionaries(texts, json_values, max_size=4),
        model=texts,
        created_at=moments,
        updated_at=moments,
    ),
    score=st.floats(0, 1) | st.sampled_from([0.0, 1.0, 1e-7, 0.3, 1 / 3]),
    distance=st.none() | st.floats(0, 2),
    vector_rank=st.none() | st.integers(1, 50),
    keyword_rank=st.none() | st.integers(1, 50),
)


@given(st.lists(hits, max_size=3))
def test_plain_search_hits_are_their_models_json(found: list[SearchHit]) -> None:
    plain = [HitOut.plain(h) for h in found]
    expected = _model_json("hits", [HitOut.model_validate(h) for h in plain])
    try:
        sent = orjson.loads(plain_ok("hits", plain).body)
    except TypeError:  # an integer beyond 64 bits: the route sends the models' JSON then
        return
    assert sent == expected
