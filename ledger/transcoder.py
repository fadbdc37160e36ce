"""The event store's JSON encoding, written by orjson where it writes the same JSON.

eventsourcing's `JSONTranscoder` encodes with the standard library and wraps values of
registered types (UUID, Decimal, datetime, …) as `{"_type_": name, "_data_": text}`.
`FastJSONTranscoder` writes the same JSON, faster, for the states the ledger stores
(text, integers, None, booleans, lists, mappings with text keys and datetimes): orjson
writes those, and hands each datetime to the same registered transcoding. A state
holding anything else (a UUID, which orjson would write as a bare string; a float; a
subclass; a key that is not text; an integer beyond 64 bits) is encoded by the library's
own encoder. Decoding is the library's, unchanged, so events written either way read
back alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder

from ledger.domain.moments import isoformat
from ledger.domain.plain import plain

_SCALARS = frozenset({str, int, bool, type(None), datetime})


class FastJSONTranscoder(JSONTranscoder):
    """`JSONTranscoder`, with orjson writing the states it writes identically."""

    def encode(self, obj: Any) -> bytes:
        if plain(obj, _SCALARS):
            try:
                return orjson.dumps(obj, default=self._encode_obj,
                                    option=orjson.OPT_PASSTHROUGH_DATETIME)
            except TypeError:
                pass  # an integer beyond 64 bits: the reference encoder writes it
        return super().encode(obj)


class DatetimeAsISOText(DatetimeAsISO):
    """The library's transcoding of a datetime (same name, same text), written by
    `moments.isoformat`."""

    def encode(self, obj: datetime) -> str:
        return isoformat(obj)
