"""GET /healthz: whether the server answers, and which database it keeps its books in."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["sqlite", "postgresql", "memory"]


@router.get("/healthz", response_model=Health, summary="Liveness and database kind")
async def healthz(request: Request) -> Health:
    # async and free of I/O: this measures the HTTP stack's own ceiling in the benchmark
    return Health(status="ok", database=request.app.state.runtime.database)
