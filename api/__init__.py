"""The HTTP API of the ledger (SPEC §3): `create_app()` builds it."""
