"""As-of replay: a fund's figures from its raw stored events, never from the read models.

`as_of` keeps the events effective on or before that date; `known_at` keeps those recorded
at or before that time — so a backdated donation recorded on 10 July changes the answer
for 30 June as known after 10 July, not as known on 1 July.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from collections.abc import Callable, Iterable

from ledger.audit.decode import loads
from ledger.audit.fold import APPLY, Figures, fold
from ledger.audit.stored import FUND_TOPIC, FundRow, StoredEvents
from ledger.domain.errors import FundNotFound
from ledger.domain.fund import Fund


def replay_figures(
    app: Any, code: str, as_of: date | None = None, known_at: datetime | None = None
) -> Figures:
    """The fund's figures folded from its stored events; FundNotFound if it was not
    opened (as known at `known_at`)."""
    rows = StoredEvents(app).fund_rows(Fund.id_for(code))
    if known_at is None:
        figures = fold_rows(rows, as_of)
    else:
        cut = len(FUND_TOPIC)
        figures = fold(((topic[cut:], loads(state)) for _, topic, state in rows),
                       as_of=as_of, known_at=known_at)
    if figures is None or figures.code != code:
        raise FundNotFound(code)
    return figures


#: how the effective date starts in a stored event's JSON (a key: inside a JSON string
#: these quotes would be escaped, so the first match is the event's own date)
_EFFECTIVE = b'"effective_on":"'


def fold_rows(rows: Iterable[FundRow], as_of: date | None = None) -> Figures | None:
    """`fold` over stored rows, as every event is known now, decoding only what counts:
    an event effective after `as_of` is recognised by its date in the stored bytes and
    skipped undecoded (only the first event, and the last one's hash, are always read)."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return None
    figures = Figures()
    APPLY["Opened"](figures, loads(first[2]))
    cut = len(FUND_TOPIC)
    effects: dict[str, Callable[[Figures, dict], None]] = {}
    known, last = 1, first[2]
    day = as_of.isoformat().encode() if as_of else None
    # two loops rather than one with a test per event: this is the replay's hot path
    if day is None:
        for _, topic, raw in rows:
            known += 1
            effect = effects.get(topic)
            if effect is None:
                effect = effects[topic] = APPLY[topic[cut:]]
            effect(figures, loads(raw))
            last = raw
    else:
        find = _EFFECTIVE
        for _, topic, raw in rows:
            known += 1
            last = raw
            at = raw.find(find)
            if at >= 0:
                if raw[at + 16:at + 26] > day:
                    continue
                state = loads(raw)
            else:  # not the library's usual encoding: read the date the slow way
                state = loads(raw)
                if state["effective_on"].encode() > day:
                    continue
            effect = effects.get(topic)
            if effect is None:
                effect = effects[topic] = APPLY[topic[cut:]]
            effect(figures, state)
    figures.seq, figures.last_hash = known, loads(last)["hash"]
    return figures


def replay(
    app: Any, code: str, as_of: date | None = None, known_at: datetime | None = None
) -> dict[str, Any]:
    """The fund's description and figures (as `Money`) as of a date, as known at a time."""
    f = replay_figures(app, code, as_of, known_at)
    return {
        "code": f.code,
        "name": f.name,
        "currency": f.currency,
        "purpose": f.purpose,
        "restricted": f.restricted,
        "closed": f.closed,
        "opened_on": f.opened_on,
        "as_of": as_of.isoformat() if as_of else None,
        "known_at": known_at.isoformat() if known_at else None,
        "seq": f.seq,
        "last_hash": f.last_hash,
        "figures": f.money(),
    }
