"""The views process of `ledger serve`: one `ledger projections run` beside the server's
processes, which follow the progress it announces (see `ledger.projections.progress`).

It is started before the server and stopped after it. Should it end while the server
runs, it is started again: after 1 s, then up to 30 s between attempts while it keeps
failing, and after 1 s again once it has run for a minute. Writes are still recorded
meanwhile, and answered once the views show them, or after the read-your-writes timeout.
It stops by itself if the server dies without stopping it (`--parent`). Its log lines
reach the server's stderr through the server, each written whole among the server's own
(two processes writing to one pipe would interleave the pieces of a line longer than the
pipe writes at once, 4 KiB).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import Any

import structlog

from ledger.logging import child_environment, write_line

log = structlog.get_logger("ledger.serve")

COMMAND = [sys.executable, "-m", "ledger", "projections", "run"]
#: seconds the process has to stop when asked, before it is killed
STOP_WAIT = 15.0
#: seconds after which a process that ends is started again after the first pause
HEALTHY = 60.0
#: the longest piece of a line relayed at once (a longer line is relayed in pieces)
RELAY_PIECE = 1 << 20


class _Ended:
    """Stands for a process that could not start: it has ended at once."""

    pid = None

    def wait(self) -> int:
        return -1

    def poll(self) -> int:
        return -1


class ViewsProcess:
    def __init__(self, command: list[str] | None = None, *, first_pause: float = 1.0) -> None:
        self.command = command or [*COMMAND, "--parent", str(os.getpid())]
        #: seconds before the first start again (doubled while it keeps ending, up to 30)
        self.first_pause = first_pause
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | _Ended | None = None
        self._lock = threading.Lock()
        self._watch: threading.Thread | None = None
        self._relays: list[threading.Thread] = []
        #: how many times it was started, and how many starts failed
        self.starts = 0
        self.failed_starts = 0

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None

    def start(self) -> None:
        self._stopping.clear()
        self._spawn()
        self._watch = threading.Thread(target=self._keep_running, name="views-process",
                                       daemon=True)
        self._watch.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            # a session of its own: a terminal's Ctrl-C reaches the server, which stops it
            env = {**os.environ, **child_environment()}
            self._process = subprocess.Popen(self.command, start_new_session=True,
                                             stderr=subprocess.PIPE, env=env)
            self.starts += 1
            relay = threading.Thread(target=_relay, args=(self._process.stderr,),
                                     name="views-process-log", daemon=True)
            relay.start()
            self._relays = [r for r in self._relays if r.is_alive()] + [relay]
        log.info("views process started", pid=self._process.pid)

    def _keep_running(self) -> None:
        pause = self.first_pause
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            started = time.monotonic()
            code = process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started > HEALTHY:
                pause = self.first_pause  # it had run well: no reason to wait long
            log.error("views process ended; starting it again", pid=process.pid,
                      exit_code=code, after_seconds=pause)
            if self._stopping.wait(pause):
                return
            pause = min(30.0, pause * 2)
            try:
                self._spawn()
            except OSError:  # (no process to wait for: try again after the next pause)
                log.exception("views process could not start")
                self.failed_starts += 1
                self._process = _Ended()

    def stop(self) -> None:
        """Asks the process to stop (SIGTERM), and kills it if it has not after
        `STOP_WAIT` seconds."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._watch is not None:
            self._watch.join(timeout=5)
        for relay in self._relays:
            relay.join(timeout=5)  # its last lines, written as it stopped


def _relay(pipe: Any) -> None:
    """Writes what the views process writes to its stderr here, a line at a time."""
    with pipe:
        for line in iter(lambda: pipe.readline(RELAY_PIECE), b""):
            write_line(line.decode("utf-8", "replace"))
