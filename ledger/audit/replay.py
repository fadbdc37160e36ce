"""As-of replay: a fund's figures from its raw stored events, never from the read models.

`as_of` keeps the events effective on or before that date; `known_at` keeps those recorded
at or before that time — so a backdated donation recorded on 10 July changes the answer
for 30 June as known after 10 July, not as known on 1 July.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ledger.audit.decode import loads
from ledger.audit.fold import Figures, fold
from ledger.audit.stored import FUND_TOPIC, StoredEvents
from ledger.domain.errors import FundNotFound
from ledger.domain.fund import Fund


def replay_figures(
    app: Any, code: str, as_of: date | None = None, known_at: datetime | None = None
) -> Figures:
    """The fund's figures folded from its stored events; FundNotFound if it was not
    opened (as known at `known_at`)."""
    cut = len(FUND_TOPIC)
    rows = StoredEvents(app).fund_rows(Fund.id_for(code))
    figures = fold(((topic[cut:], loads(state)) for _, topic, state in rows),
                   as_of=as_of, known_at=known_at)
    if figures is None or figures.code != code:
        raise FundNotFound(code)
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
