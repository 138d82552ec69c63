"""Personal accounts: roles, the rights table, password hashing and the login lockout rule.

Pure domain code (no database, no Qt): ``db.users`` stores the accounts, the GUI
(``inspector.ui.roles``) and the CLI (``inspector user``) use these rules.

- Roles, lowest first: operator < qa < engineer < admin. Each role has the rights of the
  roles below it plus its own (:data:`RIGHTS`). A station session without a personal login
  is "nobody": it may inspect and run lots; while the station has no accounts yet (the old
  shared-PIN set-up) it may also review, as before.
- Passwords are stored only as ``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``:
  PBKDF2-HMAC-SHA256 (hashlib, no extra dependency), :data:`ITERATIONS` (600,000, the OWASP
  2023 figure) and a 16-byte random salt per hash. The work factor is part of the stored
  string, so raising :data:`ITERATIONS` later keeps old hashes valid (and they are re-hashed
  at the next right login: :func:`needs_rehash`). Verification compares in constant time.
- Lockout: :func:`lock_seconds` (5 wrong passwords in a row lock the account for 30 s,
  doubling per further wrong one up to an hour); the same rule as the QA PIN.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets

from inspector.core.secret_store import LOCK_AFTER, LOCK_FIRST_S, LOCK_MAX_S, format_wait, lock_seconds

__all__ = [
    "ITERATIONS",
    "LOCK_AFTER",
    "LOCK_FIRST_S",
    "LOCK_MAX_S",
    "MIN_PASSWORD_LEN",
    "RIGHTS",
    "Right",
    "Role",
    "allowed",
    "format_wait",
    "hash_iterations",
    "hash_password",
    "lock_seconds",
    "min_role",
    "needs_rehash",
    "needs_text",
    "normalise_username",
    "validate_password",
    "verify_password",
]

ITERATIONS = 600_000  # OWASP (2023) for PBKDF2-HMAC-SHA256; recorded in every hash
MAX_ITERATIONS = 50_000_000  # a stored hash asking for more is treated as corrupt (would hang a login)
SALT_BYTES = 16
MIN_PASSWORD_LEN = 8  # NIST SP 800-63B minimum for a memorised secret
MAX_PASSWORD_LEN = 256
USERNAME_RE = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")
DISPLAY_MAX = 200
FIRST_ADMIN_COMMAND = "inspector user add --role admin YOUR_NAME"
_ALGO = "pbkdf2_sha256"


class Role(enum.StrEnum):
    """A person's role, lowest first (the order is the rank)."""

    OPERATOR = "operator"
    QA = "qa"
    ENGINEER = "engineer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    @property
    def label(self) -> str:
        return {"operator": "Operator", "qa": "QA", "engineer": "Engineer", "admin": "Admin"}[self.value]


class Right(enum.StrEnum):
    """Something a person may be allowed to do; checked where the action happens."""

    INSPECT = "inspect"  # run, pause, stop, pick a source or a product
    LOT = "lot"  # start and end lots
    REVIEW = "review"  # dispositions and defect labels on logged verdicts
    RECIPE = "recipe"  # apply or restore a recipe version
    PROMOTE = "promote"  # evaluate a candidate, promote (with the gate), roll back
    LEAVE_KIOSK = "leave_kiosk"  # leave kiosk mode, quit it during a run
    TRAIN = "train"  # start or resume training, export a run to ONNX
    ENGINE = "engine"  # rebuild the TensorRT engine
    PRODUCTS = "products"  # save or import products
    USERS = "users"  # add users, disable, reset passwords, change roles


# What each role adds to the one below it; RIGHTS accumulates them.
_ADDS: dict[Role, frozenset[Right]] = {
    Role.OPERATOR: frozenset({Right.INSPECT, Right.LOT, Right.REVIEW}),
    Role.QA: frozenset({Right.RECIPE, Right.PROMOTE, Right.LEAVE_KIOSK}),
    Role.ENGINEER: frozenset({Right.TRAIN, Right.ENGINE, Right.PRODUCTS}),
    Role.ADMIN: frozenset({Right.USERS}),
}


def _accumulate() -> dict[Role, frozenset[Right]]:
    out: dict[Role, frozenset[Right]] = {}
    have: frozenset[Right] = frozenset()
    for role in Role:
        have = have | _ADDS[role]
        out[role] = have
    return out


RIGHTS: dict[Role, frozenset[Right]] = _accumulate()
# Nobody logged in personally: the line keeps running (and lots can change) without a login.
ANONYMOUS_RIGHTS = frozenset({Right.INSPECT, Right.LOT})
# ... and while the station has no accounts yet, reviews too (as before accounts existed).
ANONYMOUS_LEGACY_RIGHTS = ANONYMOUS_RIGHTS | {Right.REVIEW}


def allowed(role: Role | str | None, right: Right, *, personal: bool = True, accounts: bool = True) -> bool:
    """May a session of ``role`` do ``right``?

    ``personal``: a person is logged in (False: the station's anonymous operator session).
    ``accounts``: the station has user accounts (False: the legacy shared-PIN set-up).
    """
    if role is None or not personal:
        return right in (ANONYMOUS_RIGHTS if accounts else ANONYMOUS_LEGACY_RIGHTS)
    try:
        return right in RIGHTS[Role(role)]
    except ValueError:  # an unknown role string has no rights at all
        return False


RIGHT_LABELS: dict[Right, str] = {
    Right.INSPECT: "inspect",
    Right.LOT: "lots",
    Right.REVIEW: "reviews",
    Right.RECIPE: "recipes",
    Right.PROMOTE: "promotion and rollback",
    Right.LEAVE_KIOSK: "leaving kiosk mode",
    Right.TRAIN: "training",
    Right.ENGINE: "engine rebuilds",
    Right.PRODUCTS: "products",
    Right.USERS: "user accounts",
}


def role_summary() -> list[str]:
    """What each role adds to the one below, from the rights table (for the user admin panel)."""
    lines = []
    for role in Role:
        adds = ", ".join(RIGHT_LABELS[r] for r in Right if r in _ADDS[role])
        lines.append(f"{role.label}: {'' if role is Role.OPERATOR else '+ '}{adds}")
    return lines


def min_role(right: Right) -> Role:
    """The lowest role that has ``right``."""
    return next(role for role in Role if right in RIGHTS[role])


def needs_text(right: Right) -> str:
    """For tooltips and refusals: "needs QA, Engineer or Admin"."""
    roles = [r.label for r in Role if r.rank >= min_role(right).rank]
    return "needs " + (roles[0] if len(roles) == 1 else ", ".join(roles[:-1]) + " or " + roles[-1])


# -- passwords ---------------------------------------------------------------------------------
def hash_password(password: str, *, salt: bytes | None = None, iterations: int | None = None) -> str:
    """``pbkdf2_sha256$iterations$salt$hash`` with a fresh random salt (unless given)."""
    n = ITERATIONS if iterations is None else iterations
    if not 0 < n <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be 1..{MAX_ITERATIONS}, not {n}")
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, n)
    return f"{_ALGO}${n}${salt.hex()}${digest.hex()}"


def hash_iterations(stored: str) -> int:
    """The work factor recorded in a stored hash (0 when it is not one of ours)."""
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != _ALGO or not parts[1].isdigit():
        return 0
    return int(parts[1])


def verify_password(password: str, stored: str) -> bool:
    """True only when ``password`` hashes to ``stored`` with the salt and work factor stored
    there; compared in constant time. A malformed or absurd hash verifies nothing."""
    n = hash_iterations(stored)
    if not 0 < n <= MAX_ITERATIONS:
        return False
    _algo, _n, salt_hex, digest_hex = stored.split("$")
    try:
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(digest_hex)
    except ValueError:
        return False
    if not salt or not expected:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, n, dklen=len(expected))
    return hmac.compare_digest(digest, expected)


def needs_rehash(stored: str) -> bool:
    """A right password whose hash used a smaller work factor than today's is stored again."""
    return hash_iterations(stored) < ITERATIONS


def burn_verify(password: str) -> None:
    """Spend the time of one verification (for an unknown or disabled user), so the answer
    time does not tell which user names exist. No password hashes to this digest."""
    dummy = f"{_ALGO}${ITERATIONS}${'00' * SALT_BYTES}${'00' * 32}"
    verify_password(password, dummy)


def validate_password(password: str, username: str = "") -> None:
    """Raise ValueError (with the reason to show) unless ``password`` is acceptable."""
    if len(password) < MIN_PASSWORD_LEN:
        raise ValueError(f"The password needs at least {MIN_PASSWORD_LEN} characters.")
    if len(password) > MAX_PASSWORD_LEN:
        raise ValueError(f"The password may have at most {MAX_PASSWORD_LEN} characters.")
    if password != password.strip():
        raise ValueError("The password must not start or end with a space.")
    if username and password.casefold() == username.casefold():
        raise ValueError("The password must not be the user name.")


def normalise_username(name: str) -> str:
    """Lower-case user name; ValueError unless 2-64 of a-z 0-9 . _ @ - (starting with a letter or digit)."""
    value = name.strip().lower()
    if not USERNAME_RE.fullmatch(value):
        raise ValueError(
            f"User name {name.strip()!r}: use 2-64 characters a-z, 0-9, '.', '_', '@' or '-', "
            "starting with a letter or digit."
        )
    return value


def normalise_display(name: str, username: str) -> str:
    """The person's full name as shown (the user name when none is given)."""
    value = " ".join(name.split())[:DISPLAY_MAX]
    return value or username
