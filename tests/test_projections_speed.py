"""The read models' fast paths give what the plain paths give: the history's data text,
the cyclic collector's pause, a write offered by the ledger itself, and small batches."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.projections.history import data_json

_plain = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(), _values, max_size=6))
def test_the_history_writes_an_events_data_as_the_standard_library_does(data):
    assert data_json(data) == _plain(data)


def test_what_orjson_refuses_the_standard_library_writes():
    for data in ({"big": 2**70}, {"small": -(2**64)}, {"lone": "\ud800"}, {1: "key"}):
        assert data_json(data) == _plain(data)
