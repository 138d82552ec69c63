"""A station on loopback for the line I/O tests: real pipeline, real writer, real servers.

Everything listens on 127.0.0.1 on free ports; the MQTT broker is Debian's mosquitto
started per test (skipped when it is not installed).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from db.session import open_db
from db.writer import VerdictWriter
from inspector.core.backends.onnxruntime_backend import OnnxRuntimeBackend
from inspector.core.model_card import load_card
from inspector.core.pipeline import Pipeline, RunSummary, run_source
from inspector.core.progress import SimpleState
from inspector.core.recipe import Recipe
from inspector.core.sources.base import SourceStats, StatsCounter, StopFn
from inspector.core.types import Frame, FrameError, InspectionResult
from inspector.lineio import LineIO, LineOutput
from tests.tiny_model import synthetic_image

STATION = "line-st"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def expected(i: int) -> str:
    """SyntheticSource frame i: odd ones have a bright defect (NG), even ones are clean (OK)."""
    return "NG" if i % 2 else "OK"


class SyntheticSource:
    """``n`` 64x64 frames (endless when None), frame i NG when i is odd; ``delay_s`` per frame;
    ``block`` makes it yield nothing at all until stopped (a camera that never delivers)."""

    live = False

    def __init__(self, n: int | None = None, delay_s: float = 0.0, block: bool = False) -> None:
        self.name = "synthetic"
        self.n, self.delay_s, self.block = n, delay_s, block
        self._stats = StatsCounter(total=n)
        self._images = [synthetic_image(64, defect=bool(i % 2), seed=i)[0] for i in range(2)]

    def frames(self, stop: StopFn) -> Iterator[Frame | FrameError]:
        i = 0
        while (self.n is None or i < self.n) and not stop():
            if self.block:
                time.sleep(0.02)
                continue
            if self.delay_s:
                time.sleep(self.delay_s)
            yield self._stats.count(
                Frame(
                    key=f"img{i}",
                    image=self._images[i % 2].copy(),
                    source="synthetic",
                    captured_at=datetime.now(UTC),
                    seq=i,
                )
            )
            i += 1

    def stats(self) -> SourceStats:
        return self._stats.snapshot()

    def close(self) -> None:
        pass


class Station:
    """Pipeline + VerdictWriter (SQLite) + LineIO, running a source on a thread."""

    def __init__(
        self,
        tmp_path: Path,
        model: Path,
        *,
        triggered: bool = False,
        deadline_s: float = 2.0,
        pipeline_cls: type[Pipeline] = Pipeline,
    ) -> None:
        self.db_path = tmp_path / "line.db"
        self.db = open_db(f"sqlite:///{self.db_path}")
        self.writer = VerdictWriter(self.db, STATION, flush_interval_s=0.02)
        self.backend = OnnxRuntimeBackend(threads=1)
        self.backend.load(model)
        self.pipeline = pipeline_cls(self.backend, load_card(model), Recipe())
        self.line = LineIO(STATION, triggered=triggered, deadline_s=deadline_s)
        self.line.bind(self.writer.submit, self.pipeline.error_result)
        self.state = SimpleState()
        self.summary: RunSummary | None = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.finished = threading.Event()
        self.submitted: list[str] = []

    def add(self, output: LineOutput) -> Any:
        return self.line.add(output)

    def start_line(self) -> None:
        self.line.start()
        self.line.set_state("running", "housing A")
        for out in self.line.outputs:
            started = getattr(out, "started", None)
            if started is not None:
                assert started.wait(20), f"{out.name} did not start: {out.status()}"

    def sink(self, result: InspectionResult) -> None:
        if self.line.submit(result) is not None:
            self.submitted.append(result.frame.key)

    def run(self, source: Any, *, limit: int | None = None) -> None:
        src = self.line.wrap_source(source)

        def go() -> None:
            try:
                self.summary = run_source(src, self.pipeline, self.sink, self.state, limit=limit)
            except BaseException as exc:
                self.error = exc
            finally:
                self.finished.set()

        self._thread = threading.Thread(target=go, name="test-run", daemon=True)
        self._thread.start()

    def wait_finished(self, timeout: float = 30.0) -> None:
        assert self.finished.wait(timeout), "the run did not finish"
        assert self.error is None, self.error

    def stop(self) -> None:
        self.state.cancel()
        if self._thread is not None:
            self._thread.join(10)
        self.line.end_triggers()
        self.writer.close()
        self.line.close()
        self.backend.close()
        self.db.dispose()

    def rows(self, where: str = "1=1", args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        con = sqlite3.connect(self.db_path, timeout=10)
        try:
            columns = "id, source_key, verdict, error_stage, reasons"
            return con.execute(f"select {columns} from inspection where {where} order by id", args).fetchall()
        finally:
            con.close()

    def row(self, inspection_id: int) -> tuple[Any, ...] | None:
        found = self.rows("id = ?", (inspection_id,))
        return found[0] if found else None


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
    )
    if found is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; .ci/run installs it)")
    return found


class Broker:
    """A mosquitto on 127.0.0.1:``port`` with persistence, so a restart keeps sessions."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.binary = mosquitto_binary()
        self.port = port or free_port()
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {folder}/\n"
            f"user {getpass.getuser()}\n"
            "max_queued_messages 100000\n"
            "log_dest stderr\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

        def up() -> bool:
            assert self.proc is not None
            assert self.proc.poll() is None, "mosquitto exited"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return True
            return False

        wait_for(up, 10, "mosquitto to listen")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # saves its persistence file
            self.proc.wait(10)
        self.proc = None


class Subscriber:
    """A paho client with a persistent session (survives a broker restart) collecting messages."""

    def __init__(self, port: int, topic: str, client_id: str = "test-sub") -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[tuple[str, bytes]] = []
        self.on_message: Callable[[str, bytes], None] | None = None
        self._lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        self.client.reconnect_delay_set(0.05, 0.2)
        self.client.on_connect = lambda c, _u, _f, _rc, _p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.on_message = self._got
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        assert self.subscribed.wait(10), "subscription not confirmed"

    def _got(self, _c: Any, _u: Any, msg: Any) -> None:
        if self.on_message is not None:
            self.on_message(msg.topic, msg.payload)
        with self._lock:
            self.messages.append((msg.topic, msg.payload))

    def payloads(self, topic_suffix: str = "") -> list[bytes]:
        with self._lock:
            return [p for t, p in self.messages if t.endswith(topic_suffix)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class RecordingOutput:
    """A LineOutput that keeps every event (optionally blocking or failing first)."""

    def __init__(
        self, name: str = "recorder", *, block: threading.Event | None = None, fail: bool = False
    ) -> None:
        from inspector.lineio import ConnectionStatus, LinkState

        self.name = name
        self.events: list[Any] = []
        self._block = block
        self._fail = fail
        self._status = ConnectionStatus(name, LinkState.UP)
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._fail:
            raise OSError("cannot start")

    def publish(self, event: Any) -> None:
        if self._block is not None:
            self._block.wait()
        if self._fail:
            raise ConnectionError("peer gone")
        with self._lock:
            self.events.append(event)

    def verdicts(self) -> list[Any]:
        from inspector.lineio import VerdictEvent

        with self._lock:
            return [e for e in self.events if isinstance(e, VerdictEvent)]

    def status(self) -> Any:
        return self._status

    def close(self) -> None:
        pass


class GatedSource(SyntheticSource):
    """Yields ``first`` frames, then waits for ``gate`` before the rest."""

    def __init__(self, n: int, first: int) -> None:
        super().__init__(n=n)
        self.first = first
        self.gate = threading.Event()

    def frames(self, stop: StopFn) -> Iterator[Frame | FrameError]:
        for i, item in enumerate(super().frames(stop)):
            while i >= self.first and not self.gate.is_set() and not stop():
                time.sleep(0.01)
            yield item
