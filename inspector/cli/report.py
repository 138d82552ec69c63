"""Summaries and CSV/JSON exports for the headless commands."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from inspector.core.backends.base import BackendInfo
from inspector.core.model_card import ModelCard
from inspector.core.pipeline import RunSummary
from inspector.core.recipe import Recipe
from inspector.core.types import InspectionResult


@dataclass(slots=True)
class VerdictRow:
    inspection_id: int | None
    key: str
    verdict: str
    score: float
    n_regions: int
    area_ratio: float
    reasons: str
    model_sha256: str
    recipe: str
    backend: str
    threshold: float
    total_ms: float
    inspected_at: str

    @classmethod
    def from_result(cls, r: InspectionResult, inspection_id: int | None) -> VerdictRow:
        d = r.decision
        return cls(
            inspection_id=inspection_id,
            key=r.frame.key,
            verdict=d.verdict.value,
            score=round(d.score, 4),
            n_regions=len(d.regions),
            area_ratio=round(d.area_ratio, 6),
            reasons="; ".join(d.reasons),
            model_sha256=r.model_sha256,
            recipe=f"{r.recipe_name} v{r.recipe_version}",
            backend=r.backend,
            threshold=r.threshold,
            total_ms=round(r.timings_ms.get("total", 0.0), 2),
            inspected_at=r.inspected_at.isoformat(),
        )


EXPORT_SUFFIXES = (".csv", ".json")


def check_export_path(path: Path) -> None:
    """Refuse an export file name before the work, not after it (ValueError: a usage error)."""
    if Path(path).suffix.lower() not in EXPORT_SUFFIXES:
        raise ValueError(f"export format must be .csv or .json, not '{Path(path).suffix}' ({path})")


def export_rows(rows: list[Any], path: Path) -> None:
    """Write dataclass rows as CSV or JSON, chosen by the file suffix."""
    path = Path(path)
    data = [asdict(r) for r in rows]
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        return
    if path.suffix.lower() != ".csv":
        raise OSError(f"export format must be .csv or .json, not '{path.suffix}'")
    with path.open("w", newline="", encoding="utf-8") as fh:
        if not data:
            return
        writer = csv.DictWriter(fh, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)


def print_summary(
    summary: RunSummary,
    info: BackendInfo,
    card: ModelCard,
    recipe: Recipe,
    *,
    logged: int,
    skipped: int = 0,
    dropped: int = 0,
    writer_stats: Any = None,
) -> None:
    c = summary.counts
    print(
        f"inspected {summary.inspected} images in {summary.elapsed_s:.1f} s "
        f"({summary.images_per_s:.2f} images/s)"
    )
    print(
        f"  OK {c['OK']}  NG {c['NG']}  REVIEW {c['REVIEW']}  ERROR {c['ERROR']}  "
        f"yield {summary.yield_pct:.1f} %"
    )
    if summary.n_errors:
        print(
            f"  ERROR (not inspected, treated as {recipe.on_error}): {summary.n_errors}"
            + (" - last ones:" if summary.n_errors > len(summary.errors) else "")
        )
        for msg in list(summary.errors)[-5:]:
            print(f"    {msg}")
    if skipped:
        print(f"  already logged with this content, model and recipe (skipped): {skipped}")
    if dropped:
        print(f"  live frames dropped (newest wins): {dropped}")
    print(f"  logged to DB: {logged}")
    stats = summary.stage_stats()
    if stats:
        print(
            "  per stage (median / p99 ms): "
            + ", ".join(f"{s} {m:.1f}/{p:.1f}" for s, (m, p) in stats.items())
        )
    print(f"  backend: {info.display}")
    print(f"  model: {card.name} sha256 {card.sha256[:12]}  recipe: {recipe.name} v{recipe.version}")
    if summary.cancelled:
        print("  run was interrupted; rerun the same command to continue where it stopped")
