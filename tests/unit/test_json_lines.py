"""The import's fast line decoder gives the standard library's values and errors, and the
embedding check keeps its rules on its fast path."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastwrap.adapters.json_lines import decode_line
from fastwrap.domain.imports import BadLine, decode_json, parse_line

# Any JSON value json.dumps writes: integers of any size, finite doubles, any text.
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


def typed(value: Any) -> str:
    """The value with its types: 1 and 1.0 differ, as they do once stored."""
    return json.dumps(value, sort_keys=True)


@given(values)
def test_any_value_decodes_to_the_standard_library_s_value(value: Any) -> None:
    raw = json.dumps(value).encode()
    assert typed(decode_line(raw)) == typed(decode_json(raw))


@given(st.lists(st.integers(min_value=-(2**80), max_value=2**80), min_size=1, max_size=8))
def test_an_embedding_s_integers_give_the_same_float32s(numbers: list[int]) -> None:
    raw = line_with(json.dumps(numbers))
    assert parse_line(1, raw, len(numbers), decode_line) == parse_line(1, raw, len(numbers))


@given(values, st.booleans())
def test_metadata_decodes_to_the_standard_library_s_value(metadata: Any, bom: bool) -> None:
    line = {"entity_type": "doc", "entity_id": "x", "content": "c", "metadata": metadata}
    raw = (b"\xef\xbb\xbf" if bom else b"") + json.dumps(line, ensure_ascii=False).encode()
    assert typed(decode_line(raw)) == typed(decode_json(raw))


def test_an_integer_beyond_64_bits_in_metadata_stays_exact() -> None:
    raw = b'{"entity_type": "doc", "entity_id": "x", "content": "c", "metadata": {"n": %d}}'
    big = 2**64 + 1
    decoded = decode_line(raw % big)
    assert isinstance(decoded, dict)
    assert decoded["metadata"]["n"] == big
    assert type(decoded["metadata"]["n"]) is int


BAD_LINES = [
    b"{oops",
    b"[1, 2]",
    b'{"entity_type": "doc", "entity_id": "x", "content": "a", "metadata": {"n": NaN}}',
    b'{"entity_type": "doc", "entity_id": "x", "content": "a", "embedding": [1, Infinity]}',
    b'{"entity_type": "doc", "entity_id": "x", "content": "\\ud800"}',
    b'{"entity_type": "doc", "entity_id": "x", "content": "a\\u0000b"}',
    b'{"entity_type": "doc", "entity_id": "x", "content": "a", "extra": 1}',
    b"\xff\xfe",
]


@pytest.mark.parametrize("raw", BAD_LINES)
def test_a_bad_line_is_refused_for_the_same_reason(raw: bytes) -> None:
    reasons = []
    for decode in (decode_json, decode_line):
        with pytest.raises(BadLine) as refused:
            parse_line(3, raw, 2, decode)
        reasons.append(refused.value.reason)
    assert reasons[0] == reasons[1]


def line_with(embedding: str) -> bytes:
    return b'{"entity_type": "doc", "entity_id": "x", "content": "a", "embedding": %s}' % (
        embedding.encode()
    )


@pytest.mark.parametrize(
    ("embedding", "reason"),
    [
        ("[1, true, 0.5]", "finite numbers"),  # a boolean is not a number here
        ('[1, "2", 0.5]', "finite numbers"),
        ("[1, null, 0.5]", "finite numbers"),
        ("[1, 1e400, 0.5]", "finite numbers"),  # read as infinite
        ("[1, 1e39, 0.5]", "32-bit float"),
        (f"[1, {10**400}, 0.5]", "32-bit float"),
        ("[1, 2]", "list of 3 numbers"),
    ],
)
def test_the_embedding_rules_hold_with_either_decoder(embedding: str, reason: str) -> None:
    for decode in (decode_json, decode_line):
        with pytest.raises(BadLine, match=reason):
            parse_line(1, line_with(embedding), 3, decode)


@given(st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=3, max_size=3))
def test_finite_float32s_are_taken_as_they_are(numbers: list[float]) -> None:
    for decode in (decode_json, decode_line):
        parsed = parse_line(1, line_with(json.dumps(numbers)), 3, decode).embedding
        assert parsed is not None
        assert list(parsed) == numbers
        assert all(math.isfinite(x) for x in parsed)
