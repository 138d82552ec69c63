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
        elif kind == "data":
            out.write("\n".join(data_lines(event)) + "\n")
        elif kind == "evaluation":
            out.write("\n".join(evaluation_lines(event)) + "\n")
        else:
            skip = ("config", "test", "val")
            out.write(" ".join(f"{k}={v}" for k, v in event.items() if k not in skip) + "\n")
        out.flush()

    return emit


def null_emitter(event: dict[str, Any]) -> None:
    return None


def data_lines(ev: dict[str, Any]) -> list[str]:
    """The ``data`` event (what was read, refused and chosen) as text."""
    lines = [
        f"data: {ev.get('path')} ({ev.get('layout')}): {ev.get('n_images')} images, "
        f"{ev.get('n_defective')} defective, {ev.get('n_refused')} refused",
        f"split: {ev.get('split_counts')}",
    ]
    for r in (ev.get("refused") or [])[:20]:
        lines.append(f"  refused {r.get('path')}: {r.get('reason')}")
    for k, why in (ev.get("chosen") or {}).items():
        lines.append(f"  chose {k}: {why}")
    return lines


def _pct(v: Any) -> str:
    return "n/a" if not isinstance(v, int | float) or not math.isfinite(v) else f"{100 * v:.1f} %"


def _num(v: Any) -> str:
    return "n/a" if not isinstance(v, int | float) or not math.isfinite(v) else f"{v:.3f}"


def evaluation_lines(ev: dict[str, Any]) -> list[str]:
    """The ``evaluation`` event (threshold from val, figures from test) as text."""
    split = ev.get("report_split") or "test"
    m = ev.get(split) or {}
    return [
        f"threshold {ev.get('threshold')} (chosen on val); {split} split, {m.get('n_images')} images "
        f"({m.get('n_defective')} defective):",
        f"  image TPR {_pct(m.get('tpr'))} ({m.get('tp')}/{(m.get('tp') or 0) + (m.get('fn') or 0)}), "
        f"TNR {_pct(m.get('tnr'))} ({m.get('tn')}/{(m.get('tn') or 0) + (m.get('fp') or 0)}), "
        f"Dice defective {_num(m.get('dice_defective'))}, Dice all {_num(m.get('dice_all'))}, "
        f"AUROC {_num(m.get('auroc'))}, AP {_num(m.get('average_precision'))}",
    ]
