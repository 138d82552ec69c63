"""Screenshot of the user admin panel (Role ▸ Users…) on a throwaway station, for the docs.

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/screenshot_user_admin.py \
        --out docs/screenshots/user_admin.png

Creates a temp database with a few accounts (as `inspector user add` does), logs the admin in
through the real login dialog, opens the panel, selects a user and saves the panel's pixels.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from _shots import ROOT, close_window, wait_for

PEOPLE = [  # user name, full name, role, password
    ("anovak", "Anna Novak", "admin", "anna admin pw"),
    ("bkowalski", "Ben Kowalski", "engineer", "ben engineer pw"),
    ("qmeyer", "Quinn Meyer", "qa", "quinn qa pw"),
    ("ojansen", "Olga Jansen", "operator", "olga operator"),
    ("pkim", "Paul Kim", "operator", "paul operator"),
    ("tmueller", "Tom Müller", "operator", "tom operator"),
]


def seed(url: str) -> None:
    from db import users
    from db.coltypes import utcnow
    from db.session import open_db

    db = open_db(url)
    try:
        for name, full, role, pw in PEOPLE:
            by = "cli:root" if role == "admin" else "anovak"
            users.add_user(db, name, pw, role, by=by, display_name=full, as_owner=role == "admin")
        # a shift's worth of logins, one disabled account and one locked after wrong passwords
        for name, _full, _role, pw in PEOPLE[1:4]:
            users.authenticate(db, name, pw, station="line-3")
        users.set_enabled(db, "tmueller", False, by="anovak")
        later = utcnow() + timedelta(seconds=1)
        for _ in range(5):
            users.authenticate(db, "pkim", "typo in it", station="line-3", clock=lambda: later)
    finally:
        db.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "user_admin.png")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="inspector-users-"))
    os.environ["INSPECTOR_SETTINGS"] = str(tmp / "settings.ini")
    os.environ["INSPECTOR_DATA_DIR"] = str(tmp / "data")
    url = f"sqlite:///{tmp / 'station.db'}"
    seed(url)

    from PySide6.QtWidgets import QApplication

    from inspector.ui.app import StartOptions, create_window
    from inspector.ui.style import apply_style

    app = QApplication([sys.argv[0]])
    apply_style(app)
    window = create_window(
        StartOptions(db_url=url, station="line-3", archive_dir=tmp / "archive", autostart=False)
    )
    window.resize(1400, 900)
    window.show()
    dlg = window.roles.request_login()
    dlg.name_edit.setText("anovak")
    dlg.pin_edit.setText("anna admin pw")
    dlg.ok_button.click()
    if not wait_for(app, lambda: window.ctx.user == "anovak", 20):
        print("login failed:", dlg.error_label.text(), file=sys.stderr)
        return 1
    panel = window.roles.open_users()
    wait_for(app, lambda: panel.table.rowCount() == len(PEOPLE), 10)
    panel.select("qmeyer")
    panel.status_label.setText("Role changed: qmeyer (QA, enabled).")
    wait_for(app, lambda: False, 0.5)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    panel.grab().save(str(args.out))
    print(f"{args.out} ({args.out.stat().st_size // 1024} KB)")
    close_window(window)
    return 0


if __name__ == "__main__":
    sys.exit(main())
