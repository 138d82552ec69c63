"""Values every database can store, and error messages a person can read.

A station logs whatever a line hands it: file names that are not valid UTF-8
(Linux decodes them to lone surrogates, which no database driver accepts),
text longer than its column, NUL characters (PostgreSQL refuses them). One
such value must never fail the batch it is committed with, so the writer
passes every text through :func:`storable_text` first.
"""

from __future__ import annotations

TRUNCATED = "...(truncated)"
ERROR_CHARS = 240  # one line of a "not logged" message, not a SQL dump


def _escape_surrogates(text: str) -> str:
    # os.fsdecode keeps undecodable bytes as U+DC80..U+DCFF: give them back as \xNN, the bytes
    # the file name really has, so the stored key reads like the name in `ls -b`.
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # other lone surrogates: escape them as they are
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def storable_text(value: str, max_len: int | None = None) -> str:
    """``value`` as valid UTF-8 without NUL, cut to ``max_len`` characters with a marker.

    Text that is storable already comes back unchanged (the common case costs one check).
    """
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = _escape_surrogates(value)
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    if max_len is not None and len(value) > max_len:
        keep = max(0, max_len - len(TRUNCATED))
        value = value[:keep] + TRUNCATED[: max_len - keep]
    return value


def short_error(exc: BaseException, limit: int = ERROR_CHARS) -> str:
    """One short line for ``exc``: the driver's own error for a SQLAlchemy error (without the
    statement, its parameters and the link SQLAlchemy appends), the first line otherwise."""
    orig = getattr(exc, "orig", None)  # sqlalchemy.exc.StatementError and its DBAPIError subclasses
    base = orig if isinstance(orig, BaseException) else exc
    lines = str(base).strip().splitlines()
    text = lines[0].strip() if lines else ""
    message = f"{type(base).__name__}: {text}" if text else type(base).__name__
    message = storable_text(message)
    if len(message) > limit:
        message = message[: limit - 3] + "..."
    return message
