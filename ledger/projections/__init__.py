"""Read models of the ledger: fund balances, sponsor ledgers, the award register and fund
history, each a projection of the fund events kept in the same database as the events.

`ReadModels` is the one object the API and the CLI use: it runs every view in background
threads (`start`/`stop`), waits for a write to be reflected (`wait_for`) and answers reads.
"""

from ledger.projections.facade import ReadModels

__all__ = ["ReadModels"]
