"""Settings of the ledger, read once from the environment (prefix LEDGER_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the ledger keeps its books and how it behaves."""

    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    #: unset: an SQLite file in the working folder; or postgresql://user@host:port/db
    database_url: str | None = None
    #: the SQLite file used when database_url is unset
    sqlite_path: Path = Path("ledger.sqlite3")
    #: seconds a write waits for PostgreSQL's table lock before giving up
    lock_timeout_seconds: int = 5
    #: seconds a write waits for the read models to reflect it
    read_your_writes_timeout: float = 5.0
    #: PostgreSQL schema of the ledger's tables
    postgres_schema: str = "public"
    #: how many fund events between two snapshots
    snapshot_interval: int = 1000


@lru_cache
def get_settings() -> Settings:
    return Settings()
