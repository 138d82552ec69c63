"""What ``inspector inspect`` keeps of a run while it goes on: counters, the last few write
errors and, with ``--export``, a spool file that committed rows stream to.

A row is let go as soon as its commit has settled, so the memory a run holds does not grow
with the number of images (a ``hot:`` run never ends). The export still lists every row, in
the order the parts were inspected, written out from the spool at the end.
"""

from __future__ import annotations

import csv
import json
import tempfile
import textwrap
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from db.storable import short_error, storable_text
from db.writer import RowNotStoredError
from inspector.cli.report import VerdictRow

ERRORS_KEPT = 10  # "not logged" messages kept (the count is kept in full)


class RunLog:
    """Rows in flight until their commit settles, then only counted (and spooled for export)."""

    def __init__(self, export: Path | None = None) -> None:
        self._in_flight: deque[tuple[VerdictRow, Future[int]]] = deque()
        self.logged = 0
        self.failed = 0
        self.errors: deque[str] = deque(maxlen=ERRORS_KEPT)
        self.exported = 0
        self._spool: IO[str] | None = None
        if export is not None:
            folder = Path(export).parent
            # anonymous (gone when closed, or when the process dies), beside the export if possible
            self._spool = tempfile.TemporaryFile(  # noqa: SIM115 - closed by close()
                "w+", encoding="utf-8", dir=folder if folder.is_dir() else None
            )

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def add(self, row: VerdictRow, future: Future[int]) -> None:
        """Track one submitted row; settles the ones whose commit is done."""
        # as the writer stores them: a file name that is not UTF-8 prints and exports escaped
        row.key = storable_text(row.key)
        row.reasons = storable_text(row.reasons)
        self._in_flight.append((row, future))
        self.settle()

    def settle(self, final: bool = False) -> None:
        """Count the rows whose commit is done, in submission order. ``final``: all of them
        (after the writer is closed; a future still open then counts as not logged)."""
        while self._in_flight and (final or self._in_flight[0][1].done()):
            row, fut = self._in_flight.popleft()
            if not fut.done():
                self._failed(row, "not committed when the writer stopped")
            elif (exc := fut.exception(timeout=0)) is not None:
                self._failed(row, str(exc) if isinstance(exc, RowNotStoredError) else short_error(exc))
            else:
                row.inspection_id = fut.result(timeout=0)
                self.logged += 1
            if self._spool is not None:
                self._spool.write(json.dumps(asdict(row)) + "\n")
                self.exported += 1

    def _failed(self, row: VerdictRow, message: str) -> None:
        self.failed += 1
        self.errors.append(f"{row.key}: {message}")

    def _spooled(self) -> Iterator[dict[str, Any]]:
        assert self._spool is not None
        self._spool.flush()
        self._spool.seek(0)
        for line in self._spool:
            yield json.loads(line)

    def write_export(self, path: Path) -> None:
        """Every settled row to ``path`` (.csv or .json), in the format of ``report.export_rows``."""
        path = Path(path)
        rows = self._spooled()
        if path.suffix.lower() == ".json":
            with path.open("w", encoding="utf-8") as fh:
                fh.write("[")
                for i, row in enumerate(rows):
                    fh.write(("," if i else "") + "\n" + textwrap.indent(json.dumps(row, indent=1), " "))
                fh.write("\n]\n" if self.exported else "]\n")
            return
        if path.suffix.lower() != ".csv":
            raise OSError(f"export format must be .csv or .json, not '{path.suffix}'")
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer: csv.DictWriter[str] | None = None
            for row in rows:
                if writer is None:
                    writer = csv.DictWriter(fh, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None
