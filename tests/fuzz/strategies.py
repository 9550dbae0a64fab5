"""Value strategies for the GraphQL fuzzer: custom scalars and pools of values that hit real data.

Schemathesis generates literal values inline in the query. Left alone, every `ID` would be random
text that fails to decode and every slug would miss, so most resolvers would only ever answer
NOT_FOUND. The pools below are filled by the `fuzz_world` fixture with the global IDs, slugs,
emails and plugin ids of the objects it created; the strategies draw an index and look the value
up at draw time, so a run is reproducible (derandomized) whatever primary keys the database hands
out. Each strategy still mixes in malformed values, because those are bugs too.
"""

from __future__ import annotations

import base64

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

# Filled per test by the fuzz_world fixture; read only when a value is drawn.
ID_POOL: list[str] = []
STRING_POOL: list[str] = []


def _from_pool(pool: list[str]) -> st.SearchStrategy[str]:
    # An index, not sampled_from: the pool is empty when the strategy is built at import time.
    return st.integers(min_value=0, max_value=10_000).map(lambda i: pool[i % len(pool)] if pool else "")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


MALFORMED_IDS = st.sampled_from(
    [
        "",
        "not base64 at all",
        _b64("Product"),  # no colon
        _b64("Product:"),  # empty key
        _b64("Product:abc"),  # key of the wrong kind
        _b64("Product:-1"),
        _b64("Product:99999999999999999999999"),  # past a 64-bit integer
        _b64("Checkout:not-a-uuid"),
        _b64("Order:1.5"),
        _b64("NoSuchType:1"),
        _b64(":1"),
        "UHJvZHVjdDox=====",  # padding gone wrong
        "8J+YgA==",  # valid base64 of an emoji, no type
        "\x00",
    ]
)

ids = st.one_of(_from_pool(ID_POOL), _from_pool(ID_POOL), MALFORMED_IDS, st.text(max_size=12))

DECIMALS = st.one_of(
    st.sampled_from(
        [
            "0", "1", "12.50", "99.99", "0.001", "-5", "-0", "100000000", "1e3", "1E+400", "1e-400",
            "99999999999999999999999999.99", "NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "abc", "",
            " 12 ", "1,000", "0x10", "١٢",
        ]
    ),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
)

JSON_STRINGS = st.sampled_from(
    ['{}', '{"a": 1}', '{"banned_words": ["fake"]}', "[]", '"text"', "1", "null", "true", "{", "not json", ""]
)

# Longer than most columns: PostgreSQL refuses them ("value too long"), SQLite silently keeps them.
LONG_STRINGS = st.sampled_from(["x" * 300, "长" * 300, "a" * 250 + "@example.com"])

strings = st.one_of(
    st.text(max_size=24),
    _from_pool(STRING_POOL),
    _from_pool(STRING_POOL),
    DECIMALS,
    LONG_STRINGS,
)


def register_scalars() -> None:
    """Strategies for the scalars both schemas declare (and better ones for ID and String)."""
    schemathesis.graphql.scalar("ID", ids.map(nodes.String))
    schemathesis.graphql.scalar("GlobalID", ids.map(nodes.String))
    schemathesis.graphql.scalar("String", strings.map(nodes.String))
    schemathesis.graphql.scalar("Decimal", DECIMALS.map(nodes.String))
    schemathesis.graphql.scalar("JSONString", JSON_STRINGS.map(nodes.String))
    schemathesis.graphql.scalar("JSON", JSON_STRINGS.map(nodes.String))
    # Files travel in multipart requests, never inline; a client that puts text or null where a file
    # belongs must get a validation error, not a crash, so that is what the fuzzer sends.
    schemathesis.graphql.scalar("Upload", st.one_of(st.just("file.png"), st.text(max_size=8)).map(nodes.String))
