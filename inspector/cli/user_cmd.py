"""``inspector user add|list|passwd|disable|enable|role``: personal accounts headless.

The first account must be an admin: ``inspector user add --role admin NAME``. Until one
exists the station keeps the old shared QA PIN as a fallback; after that only accounts log in.
Passwords are asked twice without echo (getpass), or read from one line of standard input with
``--password-stdin`` (scripts); they are stored only as PBKDF2-SHA256 hashes in the database.

Like ``inspector set-pin`` these commands run as the station's OS user, who can open the
database anyway, so they need no login; every change is an audit event whose actor is
``--by`` (default ``cli:<OS user>@<host>``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import socket
import sys
from typing import Any

from inspector.cli import exitcodes

ROLES = ("operator", "qa", "engineer", "admin")


def add_parser(sub: argparse._SubParsersAction, common: Any) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = sub.add_parser("user", help="personal accounts: add, list, reset passwords, disable, change roles")
    us = p.add_subparsers(dest="user_command", required=True)

    def by(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--by", metavar="NAME", help="the actor of the audit event (default cli:<OS user>@<host>)"
        )
        common(q)

    def password_stdin(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from one line of standard input (scripts) instead of asking twice",
        )

    add = us.add_parser("add", help="create an account (the first one must be --role admin)")
    add.add_argument("username", help="2-64 characters a-z 0-9 . _ @ - (stored in lower case)")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", default="", metavar="FULL_NAME", help="the person's name as shown")
    password_stdin(add)
    by(add)
    lst = us.add_parser("list", help="every account, one line each (never a password or hash)")
    lst.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    common(lst)
    pw = us.add_parser("passwd", help="set a new password for an account (clears its lockout)")
    pw.add_argument("username")
    password_stdin(pw)
    by(pw)
    for verb, text in (
        ("disable", "an account can no longer log in (kept for the record)"),
        ("enable", "an account can log in again (clears its lockout)"),
    ):
        q = us.add_parser(verb, help=text)
        q.add_argument("username")
        by(q)
    role = us.add_parser("role", help="change an account's role")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    by(role)
    return p


def _actor(args: argparse.Namespace) -> str:
    given = (getattr(args, "by", None) or "").strip()
    if given:
        return given
    try:
        who = getpass.getuser()
    except Exception:  # no user name in the environment
        who = "unknown"
    return f"cli:{who}@{socket.gethostname()}"


def _read_password(from_stdin: bool, username: str) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.removesuffix("\n").removesuffix("\r")
    first = getpass.getpass(f"New password for {username}: ")
    second = getpass.getpass("Repeat the new password: ")
    if first != second:
        raise ValueError("the two passwords differ; nothing changed")
    return first


def _row(u: Any) -> dict[str, Any]:
    return {
        "username": u.username,
        "name": u.display_name,
        "role": u.role.value,
        "enabled": u.enabled,
        "created_at": u.created_at.isoformat(),
        "created_by": u.created_by,
        "changed_at": u.changed_at.isoformat(),
        "changed_by": u.changed_by,
        "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
        "failed_logins": u.failed_logins,
        "locked_s": round(u.locked_s(), 1),
    }


def _list(db: Any, as_json: bool) -> int:
    from db.users import list_users

    users = list_users(db)
    if as_json:
        for u in users:
            print(json.dumps(_row(u)))
        return exitcodes.OK
    if not users:
        print(
            "No accounts yet: the shared QA PIN is still accepted. Create the first admin with\n"
            "    inspector user add --role admin YOUR_NAME"
        )
        return exitcodes.OK
    print(f"{'user':<20} {'role':<9} {'enabled':<8} {'last login':<17} name")
    for u in users:
        last = u.last_login_at.astimezone().strftime("%Y-%m-%d %H:%M") if u.last_login_at else "-"
        state = "yes" if u.enabled else "NO"
        locked = u.locked_s()
        if locked > 0:
            state += f" (locked {int(locked)} s)"
        print(f"{u.username:<20} {u.role.value:<9} {state:<8} {last:<17} {u.display_name}")
    return exitcodes.OK


def run_user(args: argparse.Namespace) -> int:
    from inspector.core.accounts import normalise_username, validate_password

    cmd = args.user_command
    password = ""
    if cmd in ("add", "passwd"):
        try:
            name = normalise_username(args.username)
            password = _read_password(args.password_stdin, name)
            validate_password(password, name)
        except (ValueError, EOFError) as exc:
            print(f"inspector: error: {exc or 'no password given'}", file=sys.stderr)
            return exitcodes.USAGE

    from db.session import open_db
    from db.users import add_user, reset_password, set_enabled, set_role

    try:
        db = open_db(args.db)
    except Exception as exc:
        print(f"inspector: error: cannot open the database: {exc}", file=sys.stderr)
        return exitcodes.FATAL
    by, station = _actor(args), getattr(args, "station", None) or socket.gethostname()
    try:
        if cmd == "list":
            return _list(db, args.json)
        if cmd == "add":
            u = add_user(
                db,
                args.username,
                password,
                args.role,
                by=by,
                display_name=args.name,
                station=station,
                as_owner=True,
            )
            print(
                f"User {u.username} ({u.role.value}) added by {by}; the password is stored as a "
                "PBKDF2-SHA256 hash only."
            )
        elif cmd == "passwd":
            u = reset_password(db, args.username, password, by=by, station=station, as_owner=True)
            print(f"Password of {u.username} set by {by}; its login lockout is cleared.")
        elif cmd in ("disable", "enable"):
            u = set_enabled(db, args.username, cmd == "enable", by=by, station=station, as_owner=True)
            print(f"User {u.username} is {'enabled' if u.enabled else 'disabled'} ({by}).")
        elif cmd == "role":
            u = set_role(db, args.username, args.role, by=by, station=station, as_owner=True)
            print(f"User {u.username} is now {u.role.value} ({by}).")
        return exitcodes.OK
    except ValueError as exc:  # UserError (refused), or a user name or role that is not valid
        print(f"inspector: error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    except Exception as exc:
        print(f"inspector: error: {exc}", file=sys.stderr)
        return exitcodes.FATAL
    finally:
        db.dispose()
