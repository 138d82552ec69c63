"""A child process that talks JSON lines on stdout (trainer, engine build), wrapped in QProcess.

TensorFlow and TensorRT never load in the station process (an import-linter contract):
``python -m trainer train ... --progress json`` and ``python -m inspector.services.engine
build ... --progress json`` run as children; a crash or cancel there cannot take
the station down.

stdout is split into lines across reads (a JSON object may arrive in pieces);
a line that is not a JSON object (a library's print) goes to the log, never
breaks the parsing. stderr goes to the log as it is.
Cancel = SIGTERM (``QProcess.terminate``): the trainer stops after the current
step and keeps its best checkpoint; after ``kill_after_ms`` it is killed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from inspector.services.promotion_eval import project_root

KILL_AFTER_MS = 15_000


def engine_program() -> list[str]:
    return [sys.executable, "-m", "inspector.services.engine"]


class LineBuffer:
    """Bytes in, complete lines out (a trailing partial line waits for the rest)."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[str]:
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        return [ln.decode("utf-8", "replace").rstrip("\r") for ln in lines]

    def flush(self) -> list[str]:
        rest, self._pending = self._pending, b""
        return [rest.decode("utf-8", "replace")] if rest.strip() else []


def parse_event(line: str) -> dict[str, Any] | None:
    """The JSON object on ``line``, or None for anything else (log text, a JSON scalar)."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


class JsonLineProcess(QObject):
    """One child at a time. ``finished(exit_code, status)``: ok | failed | cancelled | killed | crashed."""

    event = Signal(dict)
    log = Signal(str)
    finished = Signal(int, str)

    def __init__(self, parent: QObject | None = None, kill_after_ms: int = KILL_AFTER_MS) -> None:
        super().__init__(parent)
        self.kill_after_ms = kill_after_ms
        self.proc: QProcess | None = None
        self._out = LineBuffer()
        self._err = LineBuffer()
        self._cancelling = False
        self._killed = False
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)

    def is_running(self) -> bool:
        return self.proc is not None and self.proc.state() != QProcess.ProcessState.NotRunning

    def start(self, command: list[str], cwd: Path | None = None) -> None:
        if self.is_running():
            raise RuntimeError("a child process is already running")
        self._out, self._err = LineBuffer(), LineBuffer()
        self._cancelling = self._killed = False
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        # the child imports the same checkout as the station, wherever it was started from
        root = str(project_root())
        old = env.value("PYTHONPATH", "")
        env.insert("PYTHONPATH", root + (os.pathsep + old if old else ""))
        env.insert("PYTHONUNBUFFERED", "1")  # progress lines must not wait in a pipe buffer
        proc.setProcessEnvironment(env)
        proc.setWorkingDirectory(str(cwd or root))
        proc.readyReadStandardOutput.connect(self._on_stdout)
        proc.readyReadStandardError.connect(self._on_stderr)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self.proc = proc
        self.log.emit("$ " + " ".join(command))
        proc.start(command[0], command[1:])

    def cancel(self) -> None:
        """SIGTERM now, SIGKILL after ``kill_after_ms`` if it is still there."""
        if not self.is_running() or self.proc is None:
            return
        self._cancelling = True
        self.log.emit("cancel requested: asking the process to stop (SIGTERM)")
        self.proc.terminate()
        self._kill_timer.start(self.kill_after_ms)

    def wait_stopped(self, ms: int) -> bool:
        """Block up to ``ms`` for the child to exit (shutdown of the station only)."""
        return self.proc is None or self.proc.waitForFinished(ms)

    def _kill(self) -> None:
        if self.is_running() and self.proc is not None:
            self.log.emit(f"no exit {self.kill_after_ms / 1000:.1f} s after SIGTERM: killing the process")
            self._killed = True
            self.proc.kill()

    def _on_stdout(self) -> None:
        if self.proc is not None:
            self._lines(self._out.feed(bytes(self.proc.readAllStandardOutput().data())))

    def _on_stderr(self) -> None:
        if self.proc is not None:
            for line in self._err.feed(bytes(self.proc.readAllStandardError().data())):
                self.log.emit(line)

    def _lines(self, lines: list[str]) -> None:
        for line in lines:
            ev = parse_event(line)
            if ev is not None:
                self.event.emit(ev)
            elif line.strip():
                self.log.emit(line)

    def _on_error(self, err: QProcess.ProcessError) -> None:
        if err == QProcess.ProcessError.FailedToStart:
            self.log.emit(f"could not start the process: {self.proc.errorString() if self.proc else err}")
            self.proc = None
            self.finished.emit(-1, "failed")

    def _on_finished(self, code: int, exit_status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        if self.proc is not None:  # what arrived after the last readyRead
            self._lines(self._out.feed(bytes(self.proc.readAllStandardOutput().data())))
            self._lines(self._out.flush())
            for line in self._err.feed(bytes(self.proc.readAllStandardError().data())) + self._err.flush():
                self.log.emit(line)
        crashed = exit_status == QProcess.ExitStatus.CrashExit
        if self._killed:
            status = "killed"
        elif self._cancelling:
            status = "cancelled"
        elif crashed:
            status = "crashed"
        else:
            status = "ok" if code == 0 else "failed"
        self.finished.emit(code, status)
