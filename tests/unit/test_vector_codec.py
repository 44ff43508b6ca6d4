"""The pgvector codec every pooled connection uses: the same bytes as pgvector's own encoder."""

from __future__ import annotations

import math
from array import array

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pgvector import Vector

from fastwrap.adapters.postgres.pool import decode_vector, encode_vector

FLOAT32_MAX = float(np.finfo(np.float32).max)


def pgvector_bytes(value: object) -> bytes:
    with np.errstate(over="ignore"):  # beyond float32: infinite, as the codec's fallback makes it
        return bytes(Vector(np.asarray(value, dtype=np.float32)).to_binary())


# What numpy says when the fallback casts a double beyond float32's range.
overflow_cast = pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")


# Any double, NaN and infinities included: PostgreSQL refuses those, not the encoder.
doubles = st.floats(allow_nan=True, allow_infinity=True, width=64)


@overflow_cast
@given(st.lists(doubles, min_size=1, max_size=64))
def test_a_tuple_or_list_encodes_as_pgvector_encodes_it(values: list[float]) -> None:
    expected = pgvector_bytes(values)
    assert encode_vector(tuple(values)) == expected
    assert encode_vector(values) == expected


@given(st.lists(st.floats(-FLOAT32_MAX, FLOAT32_MAX, width=32), min_size=1, max_size=64))
def test_decoding_gives_back_every_float32(values: list[float]) -> None:
    assert decode_vector(encode_vector(tuple(values))) == tuple(values)


def test_a_full_size_embedding_round_trips() -> None:
    rng = np.random.default_rng(7)
    vector = tuple(float(x) for x in rng.standard_normal(1536).astype(np.float32))
    data = encode_vector(vector)
    assert len(data) == 4 + 4 * 1536
    assert data == pgvector_bytes(vector)
    assert decode_vector(data) == vector


@overflow_cast
def test_numbers_beyond_float32_take_pgvector_s_encoder() -> None:
    # struct refuses them; pgvector's encoder makes them infinite (PostgreSQL then refuses).
    data = encode_vector((1.0, 1e300, -1e300))
    assert data == pgvector_bytes([1.0, 1e300, -1e300])
    assert decode_vector(data)[1:] == (math.inf, -math.inf)


def test_arrays_and_typed_arrays_encode_the_same() -> None:
    values = [0.25, -1.5, 3.0]
    expected = pgvector_bytes(values)
    assert encode_vector(np.asarray(values)) == expected
    assert encode_vector(np.asarray(values, dtype=np.float32)) == expected
    assert encode_vector(array("f", values)) == expected  # the import path's rows


def test_what_is_not_a_vector_fails_as_pgvector_fails() -> None:
    with pytest.raises(ValueError, match="could not convert string to float"):
        encode_vector(("a", "b"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ndim"):
        encode_vector(np.zeros((2, 2)))
