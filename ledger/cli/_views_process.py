"""The views process of `ledger serve`: one `ledger projections run` beside the server's
processes, which follow the progress it announces (see `ledger.projections.progress`).

It is started before the server and stopped after it. Should it end while the server
runs, it is started again (after 1 s, then up to 30 s between attempts while it keeps
failing): writes are still recorded meanwhile, and answered once the views show them,
or after the read-your-writes timeout. It stops by itself if the server dies without
stopping it (`--parent`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import structlog

log = structlog.get_logger("ledger.serve")

COMMAND = [sys.executable, "-m", "ledger", "projections", "run"]
#: seconds the process has to stop when asked, before it is killed
STOP_WAIT = 15.0


class ViewsProcess:
    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or [*COMMAND, "--parent", str(os.getpid())]
        self._stopping = threading.Event()
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._watch: threading.Thread | None = None
        #: how many times it was started
        self.starts = 0

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
            self._process = subprocess.Popen(self.command, start_new_session=True)
            self.starts += 1
        log.info("views process started", pid=self._process.pid)

    def _keep_running(self) -> None:
        pause = 1.0
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            code = process.wait()
            if self._stopping.is_set():
                return
            log.error("views process ended; starting it again", pid=process.pid,
                      exit_code=code, after_seconds=pause)
            if self._stopping.wait(pause):
                return
            pause = min(30.0, pause * 2)
            self._spawn()

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
