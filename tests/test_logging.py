"""The log: one JSON object per line off a terminal, from structlog's loggers and the
standard library's alike, never two lines run together, whatever threads write them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

WRITER = r"""
import logging, threading, structlog
from ledger.logging import configure
configure(json=True)
ours = structlog.get_logger("api.access")
theirs = logging.getLogger("uvicorn.error")

def write(n):
    with structlog.contextvars.bound_contextvars(request_id=f"r{n}"):
        for i in range(200):
            ours.info("request", status=201, latency_ms=1.5, thread=n)
            theirs.info("Started server process [%d]", n)

threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
for t in threads: t.start()
for t in threads: t.join()
ours.info("big", value=2**70)
try:
    1 / 0
except ZeroDivisionError:
    ours.exception("failed", step="divide")
theirs.warning("lost", exc_info=False)
ours.debug("below the level")
"""


def test_every_line_is_one_json_object_from_either_kind_of_logger():
    done = subprocess.run([sys.executable, "-c", WRITER], capture_output=True, text=True,
                          timeout=60, check=True)
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert all({"event", "level", "logger", "timestamp"} <= set(line) for line in lines)
    requests = [line for line in lines if line["event"] == "request"]
    assert len(requests) == 800
    assert all(r["logger"] == "api.access" and r["request_id"] == f"r{r['thread']}"
               for r in requests)
    started = [line for line in lines if line["logger"] == "uvicorn.error"]
    assert len(started) == 801 and started[-1]["level"] == "warning"
    [big] = [line for line in lines if line["event"] == "big"]
    assert big["value"] == 2**70  # past what orjson writes: the standard library did
    [failed] = [line for line in lines if line["event"] == "failed"]
    assert failed["level"] == "error" and "ZeroDivisionError" in failed["exception"]
    assert not [line for line in lines if line["event"] == "below the level"]
    assert len(lines) == 800 + 801 + 2


@pytest.mark.parametrize(("chosen", "json_lines"), [("1", True), ("0", False)])
def test_a_child_process_writes_as_its_parent_chose_whatever_its_stderr_is(chosen, json_lines):
    """`ledger serve` relays its views process's lines: through a pipe, which is not a
    terminal, they would be JSON even where the server writes readable lines."""
    done = subprocess.run(
        [sys.executable, "-c", "from ledger.logging import configure, get_logger; "
                               "configure(); get_logger('child').info('started', n=1)"],
        capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "LEDGER_LOG_JSON": chosen})
    [line] = done.stderr.splitlines()
    if json_lines:
        assert json.loads(line)["event"] == "started"
    else:
        assert line.lstrip("0123456789-:.TZ ").startswith("[info") and "n=1" in line
