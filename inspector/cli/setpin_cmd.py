"""``inspector set-pin``: set the QA PIN (hashed, in the owner-only secrets file) and audit it.

Without a PIN QA is locked; this is the only way to set the first one (the GUI's
*Role ▸ Change PIN…* needs the current PIN). Whoever can run it as the station's
user can read and write the secrets file anyway, so it does not ask for the old PIN;
the audit event names who did it.
"""

from __future__ import annotations

import argparse
import getpass
import socket
import sys

from inspector.cli import exitcodes


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = sub.add_parser(
        "set-pin",
        help="set the QA PIN (at least 6 characters; stored hashed in an owner-only file)",
        description="Set the QA PIN. It is stored only as a PBKDF2 hash in <data dir>/secrets/roles.json "
        "(mode 0600), clears the login lockout, and is recorded as an audit event.",
    )
    p.add_argument("--by", required=True, metavar="NAME", help="your name: the actor of the audit event")
    p.add_argument("--pin-stdin", action="store_true",
                   help="read the PIN from one line of standard input (for scripts) instead of asking twice")
    return p


def _read_pin(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    first = getpass.getpass("New QA PIN: ")
    second = getpass.getpass("Repeat the new QA PIN: ")
    if first != second:
        raise ValueError("the two PINs differ; nothing changed")
    return first


def run_set_pin(args: argparse.Namespace) -> int:
    from inspector.core.secret_store import ITERATIONS, SecretStore, validate_new_pin

    by = (args.by or "").strip()
    if not by:
        print("inspector: error: --by needs a name (it is recorded in the audit log)", file=sys.stderr)
        return exitcodes.USAGE
    try:
        pin = _read_pin(args.pin_stdin).removesuffix("\r")
        validate_new_pin(pin)
    except (ValueError, EOFError) as exc:
        print(f"inspector: error: {exc or 'no PIN given'}", file=sys.stderr)
        return exitcodes.USAGE

    from db.queries import audit
    from db.session import open_db

    try:
        db = open_db(args.db)  # before changing anything: a PIN change must not go unaudited
    except Exception as exc:
        print(f"inspector: error: cannot open the database for the audit log: {exc}", file=sys.stderr)
        return exitcodes.FATAL
    store = SecretStore()
    try:
        try:
            before = store.set_pin(pin)
        except OSError as exc:
            print(f"inspector: error: cannot write {store.path}: {exc}", file=sys.stderr)
            return exitcodes.FATAL
        details = {
            "secrets_file": str(store.path),
            "replaced": bool(before and before.get("pin_hash")),
            "iterations": ITERATIONS,
            "station": args.station or socket.gethostname(),
        }
        try:
            event = audit(db, by, "pin_set", details)
        except Exception as exc:
            store.restore(before)
            print(f"inspector: error: the audit event could not be written, the PIN is unchanged: {exc}",
                  file=sys.stderr)
            return exitcodes.FATAL
    finally:
        db.dispose()
    print(f"QA PIN set by {by}: stored as a PBKDF2-SHA256 hash ({ITERATIONS:,} iterations) in "
          f"{store.path} (owner-only, mode 0600); the login lockout is cleared; audit event #{event}.")
    return exitcodes.OK
