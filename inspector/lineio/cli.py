"""``inspector inspect ... --opcua PORT --modbus PORT --mqtt HOST:PORT[/PREFIX] [--triggered]``.

The CLI's side of line I/O: the options, building a LineIO from them, start-up (wait briefly
for the servers, say where they listen) and the end of a run (state "stopped", a run summary
on MQTT, the summary's counts matching the log, every output closed).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from inspector.lineio.events import LinkState
from inspector.lineio.line import DEFAULT_DEADLINE_S, LineIO

LINE_FLUSH_S = 0.02  # the writer commits within 20 ms: the line waits for the commit
START_WAIT_S = 10.0  # how long start-up waits for the servers to listen before going on


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"must be a TCP port 1..65535, not {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def add_line_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("line I/O (pip install -e .[line]; see docs/line_io.md)")
    g.add_argument("--opcua", type=_port, metavar="PORT", help="serve OPC UA for the line on this port")
    g.add_argument("--modbus", type=_port, metavar="PORT", help="serve Modbus TCP for a PLC on this port")
    g.add_argument(
        "--mqtt", metavar="HOST[:PORT][/PREFIX]", help="publish each committed verdict as JSON to this broker"
    )
    g.add_argument(
        "--triggered",
        action="store_true",
        help="inspect a frame only when the line triggers a part (OPC UA Trigger, Modbus trigger register); "
        "each part is logged under its part id and never skipped as already logged",
    )
    g.add_argument(
        "--line-deadline",
        type=_seconds,
        default=DEFAULT_DEADLINE_S,
        metavar="S",
        help=f"a triggered part with no committed verdict after S seconds is rejected and logged as "
        f"ERROR (default {DEFAULT_DEADLINE_S:g})",
    )
    g.add_argument(
        "--line-host", default="0.0.0.0", metavar="ADDR", help="address the OPC UA and Modbus servers bind to"
    )


def line_from_args(args: argparse.Namespace, station: str) -> LineIO | None:
    """A LineIO for the options given, or None without any. ValueError for bad options,
    ImportError when the protocol libraries are not installed."""
    opcua, modbus, mqtt = (
        getattr(args, "opcua", None),
        getattr(args, "modbus", None),
        getattr(args, "mqtt", None),
    )
    triggered = bool(getattr(args, "triggered", False))
    if opcua is None and modbus is None and mqtt is None:
        if triggered:
            raise ValueError("--triggered needs a trigger input: --opcua PORT and/or --modbus PORT")
        return None
    if triggered and opcua is None and modbus is None:
        raise ValueError("--triggered needs a trigger input: --opcua PORT and/or --modbus PORT")
    if opcua is not None and opcua == modbus:
        raise ValueError(f"--opcua and --modbus cannot share port {opcua}")
    host = getattr(args, "line_host", "0.0.0.0")
    line = LineIO(station, triggered=triggered, deadline_s=getattr(args, "line_deadline", DEFAULT_DEADLINE_S))
    try:
        if opcua is not None:
            _need("asyncua", "OPC UA")
            from inspector.lineio.opcua_out import OpcUaOutput

            line.add(OpcUaOutput(opcua, host=host, triggers=line, station=station))
        if modbus is not None:
            _need("pymodbus", "Modbus TCP")
            from inspector.lineio.modbus_out import ModbusOutput

            line.add(ModbusOutput(modbus, host=host, triggers=line))
        if mqtt is not None:
            _need("paho.mqtt", "MQTT")
            from inspector.lineio.mqtt_out import MqttOutput, parse_target

            mhost, mport, prefix = parse_target(mqtt)
            line.add(MqttOutput(mhost, mport, station=station, prefix=prefix))
    except BaseException:
        line.close(timeout=1.0)
        raise
    return line


def _need(module: str, what: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module.split(".")[0]) is None or importlib.util.find_spec(module) is None:
        raise ImportError(f"{what} needs the '{module}' package: pip install -e '.[line]'")


def start_line(line: LineIO, *, state: str, product: str, verbose: bool = False) -> None:
    """Start the outputs, wait (bounded) for the servers to listen, say where they are."""
    line.start()
    line.set_state(state, product)
    end = time.monotonic() + START_WAIT_S
    # servers: until each listens or has failed once (a busy port: it retries, the status says so)
    while time.monotonic() < end and any(
        s.state is LinkState.STARTING
        for s, out in zip(line.status(), line.outputs, strict=True)
        if getattr(out, "started", None) is not None
    ):
        time.sleep(0.05)
    print(f"line: {line.describe()}", file=sys.stderr)
    if line.triggered and verbose:
        print(f"line: triggered inspection, deadline {line.deadline_s:g} s", file=sys.stderr)


def finish_line(line: LineIO, summary: Any, extra: dict[str, Any] | None = None) -> None:
    """End of a run: state "stopped", the run summary on MQTT, outputs closed; ``summary`` (a
    RunSummary or None) is corrected to match the log (deadline ERROR rows in, late verdicts out)."""
    line.end_triggers()
    if summary is not None:
        for verdict, n in line.late_verdicts.items():
            summary.counts[verdict] -= n
        if line.deadline_rows:
            summary.counts["ERROR"] += line.deadline_rows
            summary.errors.append(
                f"{line.deadline_rows} triggered parts: no verdict before the line deadline"
            )
        line.publish_summary(
            {
                "kind": "run",
                "station": line.station,
                "counts": dict(summary.counts),
                "inspected": summary.inspected,
                "yield_pct": round(summary.yield_pct, 2),
                "elapsed_s": round(summary.elapsed_s, 3),
                "cancelled": summary.cancelled,
                **(extra or {}),
            }
        )
    line.set_state("stopped")
    line.close()
    s = line.stats()
    msg = f"line: {s.published} verdicts sent"
    if line.triggered:
        msg += f", {s.triggered} parts triggered, {s.expired} past their deadline"
        if s.late:
            msg += f" ({s.late} late verdicts dropped: those parts are logged as ERROR)"
        if s.refused:
            msg += f", {s.refused} triggers refused after the stop"
    print(msg, file=sys.stderr)
    for status in line.status():
        if status.dropped or status.buffered:
            print(
                f"line: {status.name}: {status.buffered + status.dropped} messages not delivered "
                f"({status.dropped} dropped from a full buffer; last state: {status.detail or '-'})",
                file=sys.stderr,
            )
