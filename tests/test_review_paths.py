"""Review finding: INSPECTOR_DATA_DIR moves all station data, the default database included."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from db.session import default_db_url
from inspector.core.paths import default_archive_dir


def test_default_database_follows_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPECTOR_DATA_DIR", str(tmp_path / "data"))
    db_file = Path(make_url(default_db_url()).database)
    # beside the archive, not in the user's home: else a station (or a test) configured to keep its
    # data elsewhere still logs to ~/.local/share/defect-inspector/inspections.db
    assert db_file.parent == default_archive_dir().parent
    assert db_file.parent == tmp_path / "data"
