"""The pure domain of the ledger: money, errors and the aggregates."""
