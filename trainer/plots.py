"""Matplotlib figures written as PNG (Agg backend: no display, no Qt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def learning_curves(history: list[dict[str, Any]], path: Path) -> None:
    """Loss and Dice per epoch, train (on crops) and val (on whole images)."""
    plt = _plt()
    ep = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(ep, [h.get("loss") for h in history], "o-", label="train loss")
    ax1.plot(ep, [h.get("val_loss") for h in history], "o-", label="val loss")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.set_yscale("log")
    ax1.legend()
    ax2.plot(ep, [h.get("dice") for h in history], "o-", label="train dice (per crop)")
    ax2.plot(ep, [h.get("val_dice_defective") for h in history], "o-", label="val dice (defective)")
    ax2.plot(ep, [h.get("val_dice_all") for h in history], "o-", label="val dice (all)")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("dice")
    ax2.set_ylim(0, 1.02)
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def pr_curve(
    rows: list[dict[str, Any]],
    path: Path,
    image_pr: list[dict[str, Any]] | None = None,
    split: str = "",
) -> None:
    """Image- and pixel-level precision/recall against the pixel threshold, and (given
    ``image_pr``) the image precision/recall curve of the image score."""
    plt = _plt()
    t = [r["threshold"] for r in rows]
    n = 3 if image_pr else 2
    fig, axes = plt.subplots(1, n, figsize=(5 * n, 4))
    ax1, ax2 = axes[0], axes[1]
    ax1.plot(t, [r["image_precision"] for r in rows], "o-", label="image precision")
    ax1.plot(t, [r["image_recall"] for r in rows], "o-", label="image recall (TPR)")
    ax1.plot(t, [r["image_tnr"] for r in rows], "o-", label="image TNR")
    ax1.set_xlabel("pixel threshold")
    ax1.set_ylim(0, 1.02)
    ax1.legend()
    ax2.plot(t, [r["pixel_precision"] for r in rows], "o-", label="pixel precision")
    ax2.plot(t, [r["pixel_recall"] for r in rows], "o-", label="pixel recall")
    ax2.plot(t, [r["dice_defective"] for r in rows], "o-", label="dice (defective)")
    ax2.plot(t, [r["dice_all"] for r in rows], "o-", label="dice (all)")
    ax2.set_xlabel("pixel threshold")
    ax2.set_ylim(0, 1.02)
    ax2.legend()
    if image_pr:
        ax3 = axes[2]
        ax3.step(
            [p["recall"] for p in image_pr],
            [p["precision"] if p["precision"] == p["precision"] else 1.0 for p in image_pr],
            where="post",
        )
        ax3.set_xlabel("image recall")
        ax3.set_ylabel("image precision")
        ax3.set_xlim(0, 1.02)
        ax3.set_ylim(0, 1.02)
        ax3.set_title("image score (rules)")
    if split:
        fig.suptitle(f"{split} split")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
