"""The canonical bytes of the hash chain and of write fingerprints do not depend on the
path that made them: orjson's fast path writes exactly what the reference `json.dumps`
writes, and anything it might write differently takes the reference path."""

from __future__ import annotations

import enum
import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.chain import canonical, reference_canonical

TEXT = st.text(st.characters(codec="utf-8"), max_size=12) | st.text(
    st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=12)
SCALARS = (st.none() | st.booleans() | TEXT
           | st.integers(min_value=-(2 ** 70), max_value=2 ** 70))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=600)
@given(st.dictionaries(TEXT, VALUES, max_size=6))
def test_the_fast_path_writes_the_reference_bytes(content):
    assert canonical(content) == reference_canonical(content)


@pytest.mark.parametrize("text", [chr(c) for c in range(0x20)] + ["\x7f", '"', "\\", "/",
                                                                  "é", "\u2028", "Đà Nẵng"])
def test_every_escape_is_the_reference_one(text):
    content = {"k": text, text: 1}
    assert canonical(content) == reference_canonical(content) == json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


class Colour(enum.Enum):
    RED = "red"


class Code(str):
    pass


def test_values_the_encoders_read_differently_take_the_reference_path():
    assert canonical({"f": 1e16}) == b'{"f":1e+16}'  # orjson would write 1e16
    assert canonical({"n": 2 ** 64}) == b'{"n":18446744073709551616}'
    assert canonical({"c": Code("x")}) == b'{"c":"x"}'
    assert canonical({"k": True, "a": [1, (2, 3)]}) == b'{"a":[1,[2,3]],"k":true}'
    # what json refuses is still refused (orjson would write a value for it)
    for refused in (Colour.RED, date(2025, 1, 1)):
        with pytest.raises(TypeError):
            canonical({"x": refused})
