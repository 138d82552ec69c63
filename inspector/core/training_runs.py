"""Past training runs as the trainer leaves them (config.json, result.json, history.json, export/).

Read-only and tolerant: a run that is still going, was killed, or has a torn
file is listed with what can be read, never an exception (the Trainer tab lists
every folder under the runs directory).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXPORT_NAME = "model"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class RunInfo:
    path: Path
    created: datetime
    status: str  # completed | early_stop | cancelled | incomplete
    data: str = ""
    epochs: int = 0
    epochs_done: int = 0
    best_epoch: int | None = None
    best_val_dice: float | None = None
    last_val_dice_defective: float | None = None
    has_checkpoint: bool = False
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def exported_model(self) -> Path | None:
        p = export_path(self.path)
        return p if p.is_file() else None


def export_path(run_dir: Path) -> Path:
    """Where ``python -m trainer export RUN`` writes the ONNX model (RUN/export/model.onnx)."""
    return Path(run_dir) / "export" / f"{EXPORT_NAME}.onnx"


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and math.isfinite(v) else None


def read_run(run_dir: Path) -> RunInfo | None:
    """The run at ``run_dir``; None when it is not a run (no config.json)."""
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.json"
    if not cfg_path.is_file():
        return None
    cfg = _read_json(cfg_path) or {}
    result = _read_json(run_dir / "result.json") or {}
    history = _read_json(run_dir / "history.json") or []
    last = history[-1] if history and isinstance(history[-1], dict) else {}
    return RunInfo(
        path=run_dir,
        created=datetime.fromtimestamp(cfg_path.stat().st_mtime, UTC),
        status=str(result.get("status", "incomplete")),
        data=str(cfg.get("data", "")),
        epochs=int(cfg.get("epochs", 0) or 0),
        epochs_done=int(result.get("epochs_done", len(history)) or 0),
        best_epoch=result.get("best_epoch"),
        best_val_dice=_num(result.get("best_val_dice")),
        last_val_dice_defective=_num(last.get("val_dice_defective")),
        has_checkpoint=(run_dir / "best.keras").is_file(),
        config=cfg if isinstance(cfg, dict) else {},
    )


def list_runs(runs_dir: Path) -> list[RunInfo]:
    """Runs under ``runs_dir``, newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    runs = [r for d in runs_dir.iterdir() if d.is_dir() and (r := read_run(d)) is not None]
    return sorted(runs, key=lambda r: r.created, reverse=True)


def new_run_dir(runs_dir: Path, now: datetime | None = None) -> Path:
    """A fresh, sortable run folder name (not created)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    path = Path(runs_dir) / f"run-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = Path(runs_dir) / f"run-{stamp}-{n}"
    return path
