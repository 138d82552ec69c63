"""Line I/O: committed verdicts out to the line (OPC UA, Modbus TCP, MQTT), triggers in.

Qt-free (the import contracts hold it to that). The protocol libraries (asyncua, pymodbus,
paho-mqtt: ``pip install -e .[line]``) are imported only when an output starts.
See docs/line_io.md.
"""

from inspector.lineio.events import (
    ConnectionStatus,
    EventKind,
    LineEvent,
    LineOutput,
    LinkState,
    StationEvent,
    SummaryEvent,
    TriggerReply,
    VerdictEvent,
)
from inspector.lineio.hub import LineHub
from inspector.lineio.line import LineIO, LineStats
from inspector.lineio.triggers import TriggerBoard, TriggeredSource

__all__ = [
    "ConnectionStatus",
    "EventKind",
    "LineEvent",
    "LineHub",
    "LineIO",
    "LineOutput",
    "LineStats",
    "LinkState",
    "StationEvent",
    "SummaryEvent",
    "TriggerBoard",
    "TriggerReply",
    "TriggeredSource",
    "VerdictEvent",
]
