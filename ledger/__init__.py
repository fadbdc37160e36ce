"""An event-sourced, tamper-evident ledger for scholarship funds."""
