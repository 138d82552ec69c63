"""Progress events: JSON lines on stdout for the GUI's QProcess, or plain text."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any, TextIO

Emit = Callable[[dict[str, Any]], None]


def _clean(v: Any) -> Any:
    # JSON has no NaN/inf; a reader in another language would choke on them
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def json_emitter(stream: TextIO | None = None) -> Emit:
    def emit(event: dict[str, Any]) -> None:
        out = stream or sys.stdout
        out.write(json.dumps(_clean(event), default=str) + "\n")
        out.flush()  # the GUI reads line by line; buffering would stall its progress bar

    return emit


def text_emitter(stream: TextIO | None = None) -> Emit:
    def emit(event: dict[str, Any]) -> None:
        out = stream or sys.stderr
        kind = event.get("event")
        if kind == "step":
            if event["step"] % 10 and event["step"] != event["steps"]:
                return
            out.write(
                f"epoch {event['epoch']} step {event['step']}/{event['steps']} "
                f"loss {event['loss']:.4f} eta {event.get('eta_s', 0):.0f}s\n"
            )
        elif kind == "epoch":
            out.write(
                f"epoch {event['epoch']}: loss {event['loss']:.4f} val_loss {event.get('val_loss', 0):.4f} "
                f"val_dice {event.get('val_dice', 0):.4f} "
                f"(defective {event.get('val_dice_defective', 0):.4f}, "
                f"all {event.get('val_dice_all', 0):.4f}) best {event.get('best', 0):.4f} "
                f"{event.get('seconds', 0):.0f}s\n"
            )
        else:
            out.write(" ".join(f"{k}={v}" for k, v in event.items() if k != "config") + "\n")
        out.flush()

    return emit


def null_emitter(event: dict[str, Any]) -> None:
    return None
