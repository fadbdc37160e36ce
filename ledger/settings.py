"""Settings of the ledger, read once from the environment (prefix LEDGER_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import PositiveInt
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
    #: who keeps the read models current for `ledger serve`: "process", a process of its
    #: own beside the server's (PostgreSQL; the server hears its progress by NOTIFY);
    #: "threads", each server process in its own threads; "elsewhere", another command
    #: (`ledger projections run`), whose progress the server follows; "auto", "process"
    #: on PostgreSQL and "threads" on SQLite. An app built by `create_app` keeps them in
    #: its threads unless it is "elsewhere".
    views: Literal["auto", "process", "threads", "elsewhere"] = "auto"
    #: PostgreSQL schema of the ledger's tables
    postgres_schema: str = "public"
    #: how many fund events between two snapshots
    snapshot_interval: int = 1000
    #: seconds a web session lasts without a request before it must sign in again
    web_session_idle_seconds: PositiveInt = 12 * 3600
    #: seconds a web session lasts at most, however busy
    web_session_max_seconds: PositiveInt = 7 * 24 * 3600
    #: the web pages' cookies are Secure even when the server sees plain HTTP (set it
    #: behind a proxy that terminates TLS, which the server cannot tell apart from HTTP)
    secure_cookies: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()
