"""The station's secrets: the QA PIN hash and the login lockout, in an owner-only file.

Qt-free, so the ``inspector set-pin`` CLI and the GUI (``inspector.ui.roles``) share it.

- The file is ``<data dir>/secrets/roles.json`` (the data dir of :mod:`inspector.core.paths`;
  INSPECTOR_DATA_DIR moves it). The folder is 0700, the file 0600, written atomically (a
  0600 temp file in the same folder, then ``os.replace``) so it is never readable by others,
  not even for a moment. A looser mode found on either is tightened, with a warning.
- The PIN is stored only as ``pbkdf2_sha256$iterations$salt$hash``. There is no default
  PIN: without a hash QA is locked until ``inspector set-pin`` sets one.
- Lockout: after :data:`LOCK_AFTER` wrong PINs in a row QA is locked for :data:`LOCK_FIRST_S`,
  doubling with each further wrong PIN up to :data:`LOCK_MAX_S`. The count and the lock-until
  time are in the same file, so a new login dialog or a restart does not reset them. A PIN
  typed while locked is not checked at all; a right PIN resets the count.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # POSIX: serialise read-modify-write between the GUI and the CLI
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# OWASP (2023) figure for PBKDF2-HMAC-SHA256. One check takes about 0.11 s on the 2-core
# development machine (0.022 s at the former 120,000): unnoticeable at a login, 5x dearer to guess.
ITERATIONS = 600_000
MAX_ITERATIONS = 50_000_000  # a hash asking for more is treated as corrupt (would hang the login)
MIN_PIN_LEN = 6
LOCK_AFTER = 5  # wrong PINs in a row before the first lock
LOCK_FIRST_S = 30.0
LOCK_MAX_S = 3600.0
SET_PIN_COMMAND = "inspector set-pin --by YOUR_NAME"
SECRETS_DIR_NAME = "secrets"
SECRETS_FILE_NAME = "roles.json"
_FORMAT = 1
_POSIX = os.name == "posix"


def hash_pin(pin: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def hash_iterations(stored: str) -> int:
    """The iteration count of a stored hash (0 when it is not one of ours)."""
    try:
        algo, iters, _salt, _digest = stored.split("$")
        return int(iters) if algo == "pbkdf2_sha256" else 0
    except ValueError:
        return 0


def verify_pin(pin: str, stored: str) -> bool:
    try:
        algo, iters, salt_hex, digest_hex = stored.split("$")
        if algo != "pbkdf2_sha256" or not 0 < int(iters) <= MAX_ITERATIONS:
            return False
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), bytes.fromhex(salt_hex), int(iters))
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


def validate_new_pin(pin: str) -> None:
    """Raise ValueError (with the reason to show) unless ``pin`` is acceptable as a QA PIN."""
    if len(pin) < MIN_PIN_LEN:
        raise ValueError(
            f"The PIN needs at least {MIN_PIN_LEN} digits or characters: a 4-digit PIN has only "
            "10,000 values, which an offline search of its hash tries in minutes."
        )
    if pin != pin.strip():
        raise ValueError("The PIN must not start or end with a space.")


def lock_seconds(failures: int) -> float:
    """How long QA stays locked after ``failures`` wrong PINs in a row."""
    if failures < LOCK_AFTER:
        return 0.0
    return min(LOCK_FIRST_S * 2.0 ** (failures - LOCK_AFTER), LOCK_MAX_S)


def format_wait(seconds: float) -> str:
    s = max(1, int(seconds + 0.999))
    if s < 60:
        return f"{s} s"
    minutes, s = divmod(s, 60)
    return f"{minutes} min {s:02d} s"


def default_secrets_path() -> Path:
    from inspector.core.paths import user_data_dir

    return user_data_dir() / SECRETS_DIR_NAME / SECRETS_FILE_NAME


class Outcome(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # checked and wrong (counted)
    LOCKED = "locked"  # not checked: still locked after earlier wrong PINs
    NO_PIN = "no_pin"  # not checked: no PIN is set, QA is locked until `inspector set-pin`


@dataclass(frozen=True, slots=True)
class Attempt:
    outcome: Outcome
    failures: int = 0  # wrong PINs in a row, this one included
    locked_s: float = 0.0  # how long QA is locked now
    weak: bool = False  # right PIN, but shorter than MIN_PIN_LEN (an old one, migrated)

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


class SecretStore:
    """The secrets file. Every method reads it afresh: another process (the CLI) may change it."""

    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path) if path is not None else default_secrets_path()
        self.clock = clock

    # -- file handling -------------------------------------------------------
    @property
    def folder(self) -> Path:
        return self.path.parent

    def _ensure_folder(self) -> None:
        folder = self.folder
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _POSIX:
            return
        st = folder.lstat()
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            raise OSError(f"{folder}: the secrets folder is not a plain folder; refusing to use it")
        if st.st_uid != os.getuid():
            raise OSError(f"{folder}: the secrets folder belongs to another user; refusing to use it")
        if stat.S_IMODE(st.st_mode) != 0o700:
            if stat.S_IMODE(st.st_mode) & 0o077:
                log.warning("%s was readable by others (mode %o): tightened to 0700",
                            folder, stat.S_IMODE(st.st_mode))
            folder.chmod(0o700)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write cycles across processes (flock on a side file)."""
        self._ensure_folder()
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        fd = os.open(self.folder / (SECRETS_FILE_NAME + ".lock"),
                     os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _read(self) -> dict[str, Any] | None:
        """The file's content; None when there is no file. Tightens a loose mode."""
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as fh:
            if _POSIX:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise OSError(f"{self.path}: not a regular file")
                mode = stat.S_IMODE(st.st_mode)
                if mode != 0o600:
                    log.warning("%s had mode %o (readable or writable by others): tightened to 0600",
                                self.path, mode)
                    os.fchmod(fd, 0o600)
            raw = fh.read()
        try:
            data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.error("%s is not valid JSON (%s): QA stays locked until `%s`",
                      self.path, exc, SET_PIN_COMMAND)
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        """Atomically replace the file; the temp file is created 0600, so the content never leaks."""
        data = {**data, "format": _FORMAT}
        fd, tmp = tempfile.mkstemp(prefix=".roles-", suffix=".tmp", dir=self.folder)  # mode 0600
        try:
            if _POSIX:
                os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if _POSIX:
            dir_fd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    # -- queries -----------------------------------------------------------
    def ensure(self) -> bool:
        """Create the file (no PIN: QA locked) if missing; check its mode. True if it was created."""
        with self._locked():
            if self._read() is not None:
                return False
            self._write({})
            return True

    def exists(self) -> bool:
        return self.path.exists()

    def pin_hash(self) -> str | None:
        with self._locked():
            data = self._read() or {}
        value = data.get("pin_hash")
        return value if isinstance(value, str) and value else None

    def has_pin(self) -> bool:
        return self.pin_hash() is not None

    @staticmethod
    def _failures(data: dict[str, Any]) -> int:
        value = data.get("failures", 0)
        return value if isinstance(value, int) and value > 0 else 0

    def _remaining(self, data: dict[str, Any], now: float) -> float:
        until = data.get("locked_until", 0.0)
        if not isinstance(until, int | float) or until <= now:
            return 0.0
        # A clock set back must not lock QA for longer than the lock itself lasts.
        return min(float(until) - now, lock_seconds(self._failures(data)) or LOCK_MAX_S)

    def lock_remaining(self) -> float:
        """Seconds until the next PIN is checked (0: not locked)."""
        with self._locked():
            data = self._read() or {}
        return self._remaining(data, self.clock())

    def failures(self) -> int:
        with self._locked():
            return self._failures(self._read() or {})

    # -- changes ---------------------------------------------------------------
    def attempt(self, pin: str) -> Attempt:
        """Check ``pin`` unless locked or unset; count wrong ones and lock; a right one resets."""
        with self._locked():
            data = self._read()
            if data is None:
                data = {}
                self._write(data)
            stored = data.get("pin_hash")
            failures = self._failures(data)
            now = self.clock()
            if not isinstance(stored, str) or not stored:
                return Attempt(Outcome.NO_PIN, failures)
            remaining = self._remaining(data, now)
            if remaining > 0:
                return Attempt(Outcome.LOCKED, failures, remaining)
            if verify_pin(pin, stored):
                data.update(failures=0, locked_until=0.0)
                if hash_iterations(stored) < ITERATIONS:  # an older, cheaper hash: upgrade it
                    data["pin_hash"] = hash_pin(pin)
                self._write(data)
                return Attempt(Outcome.OK, 0, 0.0, weak=len(pin) < MIN_PIN_LEN)
            failures += 1
            locked = lock_seconds(failures)
            data.update(failures=failures, locked_until=now + locked if locked else 0.0)
            self._write(data)
            return Attempt(Outcome.WRONG, failures, locked)

    def set_pin(self, pin: str) -> dict[str, Any] | None:
        """Store a new PIN (validated) and clear the lockout; returns the previous content."""
        validate_new_pin(pin)
        digest = hash_pin(pin)
        with self._locked():
            before = self._read()
            data = dict(before or {})
            data.update(pin_hash=digest, failures=0, locked_until=0.0, pin_set_at=self.clock())
            data.pop("migrated_from", None)
            self._write(data)
        return before

    def restore(self, before: dict[str, Any] | None) -> None:
        """Put back what :meth:`set_pin` returned (undo a change whose audit event failed)."""
        with self._locked():
            if before is None:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
            else:
                self._write(before)

    def adopt_legacy_hash(self, stored: str | None, is_default: bool, origin: str) -> str:
        """Take a PIN hash kept by an older version (in QSettings), once.

        Only while no secrets file exists yet; a hash of the old default PIN "0000" is
        never adopted (QA is then locked until ``inspector set-pin``). Returns what was done:
        "adopted", "ignored-default", "ignored-invalid", "ignored-exists" or "none".
        """
        with self._locked():
            if self._read() is not None:
                return "ignored-exists" if stored else "none"
            if not stored:
                self._write({})
                return "none"
            if hash_iterations(stored) == 0:
                self._write({})
                return "ignored-invalid"
            if is_default or verify_pin("0000", stored):
                self._write({})
                return "ignored-default"
            self._write({"pin_hash": stored, "failures": 0, "locked_until": 0.0, "migrated_from": origin})
            return "adopted"
