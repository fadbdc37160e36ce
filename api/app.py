"""The FastAPI application: `create_app()` wires the runtime, errors, middleware, routers.

Every module of `api/routers/` that exposes `router` is included, so a resource is added
by adding its module, without editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

import api.routers
from api import problems
from api.express import DonationExpress
from api.middleware import AccessLog, BodyLimit, HeadAsGet
from api.runtime import Runtime
from ledger.collector import settle_server
from ledger.logging import configure as configure_logging
from ledger.settings import Settings, get_settings

#: threads that run the API's blocking work (writes, reads, waits for the read models)
WORKER_THREADS = 200

DESCRIPTION = """\
An event-sourced, tamper-evident ledger for scholarship funds (SPEC §3).

Authenticate with `Authorization: Bearer <api key>` (keys come from `ledger users add`).
Every create takes an optional client-chosen `id`: the same request again answers 200 with
the original body and records nothing; other content under the same id is 409.
Errors are `application/problem+json` (RFC 9457).
"""


def router_modules() -> list[str]:
    """The router modules of `api/routers/`, in name order."""
    return sorted(
        f"{api.routers.__name__}.{m.name}"
        for m in pkgutil.iter_modules(api.routers.__path__)
        if not m.name.startswith("_")
    )


def create_app(settings: Settings | None = None, *, start_read_models: bool = True) -> FastAPI:
    """The API for these settings (default: the environment's)."""
    configure_logging()
    runtime = Runtime(settings or get_settings(), start_read_models=start_read_models)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A write's request holds a worker thread while it waits for the read models;
        # anyio's default of 40 threads would queue requests behind those waits.
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        runtime.open()
        settle_server()
        try:
            yield
        finally:
            runtime.close()

    app = FastAPI(
        title="Scholarship fund ledger",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    problems.install(app)
    for name in router_modules():
        module = importlib.import_module(name)
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)
    problems.document(app)
    # outermost last: the access log sees the 413s the body limit answers, and HEADs;
    # the express lane gets a body already measured
    app.add_middleware(DonationExpress)
    app.add_middleware(HeadAsGet)
    app.add_middleware(BodyLimit)
    app.add_middleware(AccessLog)
    return app
