"""MQTT publisher (paho-mqtt): one JSON message per committed verdict, and lot summaries.

Topics: ``<prefix>/<station>/verdict`` (QoS 1), ``<prefix>/<station>/summary`` (QoS 1) and
``<prefix>/<station>/state`` (QoS 1, retained). Messages wait in a bounded buffer while the
broker is away (the oldest are dropped first, and counted) and go out in order when it is
back; the connection is retried with back-off. ``publish`` only appends to that buffer, so
a slow or absent broker never blocks anything.

QoS 1 is "at least once": a message in flight when the connection drops is sent again, so a
consumer may see it twice; ``inspection_id`` identifies the row.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from inspector.core.sources.live import backoff_delays
from inspector.lineio.events import (
    ConnectionStatus,
    EventKind,
    LineEvent,
    LinkState,
    StationEvent,
    SummaryEvent,
    VerdictEvent,
)

log = logging.getLogger(__name__)

MAX_BUFFER = 10_000  # messages kept while the broker is away
WINDOW = 100  # messages in flight (sent, PUBACK not yet back)
CONNECT_TIMEOUT_S = 5.0
POLL_S = 0.02  # how long the network loop waits for the broker before looking for new messages


@dataclass(frozen=True, slots=True)
class _Msg:
    topic: str
    payload: bytes
    retain: bool = False


def parse_target(spec: str) -> tuple[str, int, str]:
    """``HOST[:PORT][/PREFIX]`` -> (host, port, prefix); port 1883 and prefix "inspector" by default."""
    hostport, _, prefix = spec.partition("/")
    host, sep, port_text = hostport.rpartition(":")
    if not sep:
        host, port_text = hostport, "1883"
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise ValueError(f"MQTT broker must be HOST[:PORT][/PREFIX], not {spec!r}")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"MQTT broker port must be a number: {spec!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"MQTT broker port must be 1..65535: {spec!r}")
    prefix = prefix.strip("/") or "inspector"
    if any(c in prefix for c in "+#\0"):
        raise ValueError(f"MQTT topic prefix must not contain + # or NUL: {prefix!r}")
    return host, port, prefix


class MqttOutput:
    """Publishes to one broker from its own thread (paho's network loop runs there too)."""

    def __init__(
        self,
        host: str,
        port: int = 1883,
        *,
        station: str,
        prefix: str = "inspector",
        client_id: str | None = None,
        max_buffer: int = MAX_BUFFER,
        window: int = WINDOW,
        retry: tuple[float, float] = (0.5, 10.0),
        keepalive: int = 30,
    ) -> None:
        self.host, self.port = host, int(port)
        self.name = f"MQTT {host}:{self.port}"
        base = f"{prefix.strip('/')}/{_topic_part(station)}"
        self.verdict_topic = f"{base}/verdict"
        self.summary_topic = f"{base}/summary"
        self.state_topic = f"{base}/state"
        self.client_id = client_id or f"defect-inspector-{_topic_part(station)}-{os.getpid()}"
        self._max = max(1, max_buffer)
        self._window = max(1, window)
        self._retry = retry
        self._keepalive = keepalive
        self._pending: deque[_Msg] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._close_by = 0.0
        self._state = LinkState.STARTING
        self._detail = ""
        self._in_flight = 0
        self.sent = 0
        self.dropped = 0
        self.connects = 0
        self._thread = threading.Thread(target=self._run, name="mqtt-out", daemon=True)

    # -- LineOutput ------------------------------------------------------------
    def start(self) -> None:
        if not self._thread.is_alive():
            self._thread.start()

    def publish(self, event: LineEvent) -> None:
        if isinstance(event, VerdictEvent):
            if event.kind is EventKind.DEADLINE:
                return  # a reject for the line; the part's committed ERROR row follows
            self._enqueue(_Msg(self.verdict_topic, _json(event.to_json())))
        elif isinstance(event, SummaryEvent):
            self._enqueue(_Msg(self.summary_topic, _json(event.summary)))
        elif isinstance(event, StationEvent):
            self._enqueue(
                _Msg(self.state_topic, _json({"state": event.state, "product": event.product}), retain=True)
            )

    def publish_summary(self, summary: dict[str, Any]) -> None:
        """A lot (or run) summary: counts, yield, model, recipe... as JSON on ``.../summary``."""
        self._enqueue(_Msg(self.summary_topic, _json(summary)))

    def status(self) -> ConnectionStatus:
        with self._cond:
            return ConnectionStatus(
                self.name,
                self._state,
                self._detail,
                sent=self.sent,
                buffered=len(self._pending) + self._in_flight,
                dropped=self.dropped,
            )

    def close(self, timeout: float = 5.0) -> None:
        """Send what is buffered while connected (up to ``timeout``), then disconnect."""
        with self._cond:
            self._closing = True
            self._close_by = time.monotonic() + timeout
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout + CONNECT_TIMEOUT_S + 1)
        with self._cond:
            self._state, self._detail = LinkState.CLOSED, self._detail

    # -- buffer ------------------------------------------------------------------
    def _enqueue(self, msg: _Msg) -> None:
        with self._cond:
            self._pending.append(msg)
            self._trim()
            self._cond.notify_all()

    def _trim(self) -> None:
        while len(self._pending) > self._max:
            self._pending.popleft()
            self.dropped += 1
            if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                log.warning("%s: buffer full, %d oldest messages dropped", self.name, self.dropped)

    def _set(self, state: LinkState, detail: str) -> None:
        with self._cond:
            self._state, self._detail = state, detail

    # -- the thread ----------------------------------------------------------------
    def _run(self) -> None:
        delays = backoff_delays(*self._retry)
        while True:
            with self._cond:
                if self._closing and (not self._pending or time.monotonic() >= self._close_by):
                    break
            client = self._connect()
            if client is None:
                delay = next(delays)
                with self._cond:
                    self._detail = f"{self._detail}; retry in {delay:g} s"
                    if not self._closing:
                        self._cond.wait(delay)
                    elif time.monotonic() < self._close_by:
                        self._cond.wait(min(delay, self._close_by - time.monotonic()))
                continue
            delays = backoff_delays(*self._retry)
            try:
                self._pump(client)
            except Exception as exc:  # paho trouble: reconnect
                log.warning("%s: %s", self.name, exc)
                self._set(LinkState.DOWN, str(exc) or type(exc).__name__)
            finally:
                try:
                    client.disconnect()
                    client.loop(0.01)
                except Exception as exc:
                    log.debug("%s: disconnect: %r", self.name, exc)
                try:
                    sock = client.socket()
                    if sock is not None:
                        sock.close()
                except Exception as exc:
                    log.debug("%s: socket close: %r", self.name, exc)

    def _connect(self) -> Any:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        connack: list[Any] = []
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=True,
            protocol=mqtt.MQTTv311,
            reconnect_on_failure=False,
        )
        client.connect_timeout = CONNECT_TIMEOUT_S
        client.on_connect = lambda _c, _u, _f, rc, _p: connack.append(rc)
        try:
            client.connect(self.host, self.port, keepalive=self._keepalive)
            end = time.monotonic() + CONNECT_TIMEOUT_S
            while not connack and time.monotonic() < end:
                rc = client.loop(0.05)
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    raise ConnectionError(mqtt.error_string(rc))
            if not connack:
                raise TimeoutError("no CONNACK from the broker")
            if connack[0].is_failure:
                raise ConnectionError(f"broker refused the connection: {connack[0]}")
        except Exception as exc:
            self._set(LinkState.DOWN, str(exc) or type(exc).__name__)
            log.info("%s: cannot connect: %s", self.name, exc)
            try:
                sock = client.socket()
                if sock is not None:
                    sock.close()
            except Exception as close_exc:
                log.debug("%s: socket close: %r", self.name, close_exc)
            return None
        self.connects += 1
        self._set(LinkState.UP, "connected")
        log.info("%s: connected", self.name)
        return client

    def _pump(self, client: Any) -> None:
        """Send buffered messages in order, at most ``window`` unacknowledged, until the
        connection drops (unacknowledged ones go back to the front of the buffer) or close."""
        import paho.mqtt.client as mqtt

        in_flight: deque[tuple[_Msg, Any]] = deque()
        try:
            while True:
                with self._cond:
                    if self._closing and (
                        (not self._pending and not in_flight) or time.monotonic() >= self._close_by
                    ):
                        return
                    take = []
                    while self._pending and len(in_flight) + len(take) < self._window:
                        take.append(self._pending.popleft())
                    self._in_flight = len(in_flight) + len(take)
                for i, msg in enumerate(take):
                    info = client.publish(msg.topic, msg.payload, qos=1, retain=msg.retain)
                    if info.rc != mqtt.MQTT_ERR_SUCCESS:
                        with self._cond:  # not sent: back to the front, in order
                            self._pending.extendleft(reversed(take[i:]))
                        raise ConnectionError(mqtt.error_string(info.rc))
                    in_flight.append((msg, info))
                rc = client.loop(POLL_S)
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    raise ConnectionError(f"connection lost: {mqtt.error_string(rc)}")
                acked = 0
                while in_flight and in_flight[0][1].is_published():
                    in_flight.popleft()
                    acked += 1
                if acked:
                    with self._cond:
                        self.sent += acked
                        self._in_flight = len(in_flight)
        except ConnectionError as exc:
            self._set(LinkState.DOWN, str(exc))
            log.warning("%s: %s; %d messages buffered", self.name, exc, len(in_flight))
        finally:
            with self._cond:  # unacknowledged: sent again, in order, after reconnecting
                self._pending.extendleft(reversed([m for m, _ in in_flight]))
                self._in_flight = 0
                self._trim()


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")


def _topic_part(text: str) -> str:
    """A station name as one topic level (no '/', '+', '#')."""
    cleaned = "".join("_" if c in "/+#\0" else c for c in text).strip()
    return cleaned or "station"
