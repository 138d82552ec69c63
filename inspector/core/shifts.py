"""Shifts by schedule: which shift a moment belongs to, and when a shift starts and ends.

A schedule is the local wall-clock start of each shift, e.g. ``"06:00,14:00,22:00"`` (three
shifts of eight hours). A shift is named ``YYYY-MM-DD/N``: the local date on which it *started*
and its number in the schedule (1-based), so the night shift that starts at 22:00 on the 28th
and ends at 06:00 on the 29th is ``2026-11-28/3``, also for a part inspected at 02:00 on the 29th.

The verdict writer stamps every inspection row with its shift (``inspection.shift``), so shift
counters and reports are plain queries on that column. Qt-free, DB-free.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

DEFAULT_SCHEDULE = "06:00,14:00,22:00"
SHIFTS_ENV = "INSPECTOR_SHIFTS"  # overrides the default schedule (the CLI; the GUI has a setting)
LABEL_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})/(\d{1,2})$")


@dataclass(frozen=True, slots=True)
class Shift:
    label: str  # "2026-11-28/1"
    start: datetime  # aware, local
    end: datetime  # aware, local (the next shift's start)

    @property
    def number(self) -> int:
        return int(self.label.rsplit("/", 1)[1])


@dataclass(frozen=True, slots=True)
class ShiftSchedule:
    """Shift start times (local wall clock), sorted; at least one."""

    starts: tuple[time, ...]
    tz: tzinfo | None = None  # None: the station's local time zone

    @classmethod
    def parse(cls, text: str | None, tz: tzinfo | None = None) -> ShiftSchedule:
        """``"06:00,14:00,22:00"`` (commas or spaces); ValueError naming what is wrong."""
        raw = (text or "").replace(";", ",").replace(" ", ",")
        parts = [p for p in raw.split(",") if p]
        if not parts:
            raise ValueError("shift schedule is empty: give the start of each shift, e.g. 06:00,14:00,22:00")
        starts: list[time] = []
        for p in parts:
            m = re.fullmatch(r"(\d{1,2}):(\d{2})", p)
            if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
                raise ValueError(f"shift start {p!r} is not a time of day (HH:MM), in schedule {text!r}")
            starts.append(time(int(m.group(1)), int(m.group(2))))
        if len(set(starts)) != len(starts):
            raise ValueError(f"shift schedule {text!r} names the same start twice")
        return cls(tuple(sorted(starts)), tz)

    @classmethod
    def default(cls) -> ShiftSchedule:
        """``$INSPECTOR_SHIFTS`` when set, else :data:`DEFAULT_SCHEDULE`."""
        return cls.parse(os.environ.get(SHIFTS_ENV) or DEFAULT_SCHEDULE)

    def text(self) -> str:
        return ",".join(t.strftime("%H:%M") for t in self.starts)

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None:
            at = at.astimezone()  # naive = local time (Python's convention)
        return at.astimezone(self.tz) if self.tz is not None else at.astimezone()

    def _at(self, day: date, index: int) -> datetime:
        """Start of shift ``index`` (0-based, may run past the end: the next day's) of ``day``."""
        n = len(self.starts)
        day = day + timedelta(days=index // n)
        naive = datetime.combine(day, self.starts[index % n])
        return naive.replace(tzinfo=self.tz) if self.tz is not None else naive.astimezone()

    def shift_at(self, at: datetime) -> Shift:
        local = self._local(at)
        day = local.date()
        # the latest start at or before ``local``: today's, else the last one of the day before
        for i in range(len(self.starts) - 1, -1, -1):
            start = self._at(day, i)
            if start <= local:
                return Shift(f"{day.isoformat()}/{i + 1}", start, self._at(day, i + 1))
        prev = day - timedelta(days=1)
        last = len(self.starts) - 1
        return Shift(f"{prev.isoformat()}/{last + 1}", self._at(prev, last), self._at(prev, last + 1))

    def label(self, at: datetime) -> str:
        return self.shift_at(at).label

    def shift(self, label: str) -> Shift:
        """The shift named ``label`` (``YYYY-MM-DD/N``); ValueError when it is not one of this schedule's."""
        m = LABEL_RE.fullmatch(label.strip())
        if m is None:
            raise ValueError(f"shift {label!r} is not YYYY-MM-DD/N (e.g. 2026-11-28/1)")
        day = date.fromisoformat(m.group(1))
        n = int(m.group(2))
        if not 1 <= n <= len(self.starts):
            raise ValueError(f"shift {label!r}: the schedule {self.text()} has shifts 1..{len(self.starts)}")
        return Shift(f"{day.isoformat()}/{n}", self._at(day, n - 1), self._at(day, n))

    def previous(self, shift: Shift) -> Shift:
        return self.shift_at(shift.start - timedelta(seconds=1))


def check_label(label: str) -> str:
    """``label`` stripped when it looks like ``YYYY-MM-DD/N`` (ValueError otherwise); no schedule needed."""
    text = label.strip()
    m = LABEL_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"shift {label!r} is not YYYY-MM-DD/N (e.g. 2026-11-28/1)")
    date.fromisoformat(m.group(1))  # a real date
    return text
