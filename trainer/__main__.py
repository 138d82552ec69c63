"""``python -m trainer ...`` (what the station's QProcess runs)."""

from __future__ import annotations

from trainer.cli import main

raise SystemExit(main())
