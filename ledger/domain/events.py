"""Event objects built as the event store rebuilds stored ones.

The library's event classes are frozen dataclasses: their generated `__init__` sets each
field through `object.__setattr__`, about 2 µs for a fund event's fifteen fields, more
than the rest of a bulk import spends on building it. The library's own mapper rebuilds
a stored event without that `__init__` (a bare object, its `__dict__` given whole);
`build` does the same for a new event, after checking that the fields given are exactly
the class's, so an event built here is equal to one built by the class.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import Any, TypeVar

E = TypeVar("E")


def build(event_class: type[E], attributes: dict[str, Any]) -> E:
    """An event of `event_class` holding `attributes` (the dict becomes the event's own:
    pass a new one). TypeError unless they name exactly the class's fields."""
    if attributes.keys() != _field_names(event_class):
        names = _field_names(event_class)
        raise TypeError(f"Can't construct event {event_class.__qualname__}: missing "
                        f"{sorted(names - attributes.keys())}, unknown "
                        f"{sorted(attributes.keys() - names)}")
    event = object.__new__(event_class)
    object.__setattr__(event, "__dict__", attributes)
    return event


@cache
def _field_names(event_class: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(event_class))  # type: ignore[arg-type]
