"""Whether a value is plain data: made only of the given scalar types (exact types, no
subclasses), lists, tuples and dicts with text keys. The ledger writes JSON with orjson
where orjson and the standard library write plain data alike, and checks this first."""

from __future__ import annotations

from typing import Any


def plain(value: Any, scalars: frozenset[type]) -> bool:
    kind = type(value)
    if kind in scalars:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in scalars and not plain(item, scalars)):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            if type(item) not in scalars and not plain(item, scalars):
                return False
        return True
    return False
