"""Business-hours arithmetic: how much working time lies between two instants, and when a
given amount of working time runs out.

A calendar is weekly opening hours in one IANA time zone plus holidays (local dates). Hours are
local wall-clock times, so a day on which the clocks change is as long as the wall clock says:
9:00–17:00 is eight hours on every working day, and a round-the-clock day is 23 or 25 hours on
the days daylight saving starts or ends. Instants are aware datetimes; the arithmetic runs on
epoch seconds with each local day's opening intervals cached, so it stays cheap in bulk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from supportdesk.errors import SupportdeskError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
#: Searching further than this for opening hours means the calendar has none left.
MAX_DAYS = 3660


class CalendarError(SupportdeskError, ValueError):
    """A calendar definition that cannot be used; the message names the bad part."""


def _minutes(text: str, where: str) -> int:
    match = _CLOCK.match(text.strip())
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        raise CalendarError(f"{where}: {text!r} is not a time of day (HH:MM, 00:00 to 24:00)")
    return int(match.group(1)) * 60 + int(match.group(2))


def parse_hours(hours: Mapping[str, Any]) -> dict[int, tuple[tuple[int, int], ...]]:
    """``{"mon": [["09:00", "17:00"]], …}`` → weekday → sorted (start, end) minutes."""
    parsed: dict[int, tuple[tuple[int, int], ...]] = {}
    for key, spans in hours.items():
        day = str(key).lower()[:3]
        if day not in DAYS:
            raise CalendarError(f"{key!r} is not a day: use mon, tue, wed, thu, fri, sat, sun")
        if not isinstance(spans, list | tuple):
            raise CalendarError(f"{key}: give a list of [start, end] pairs")
        intervals: list[tuple[int, int]] = []
        for span in spans:
            if not isinstance(span, list | tuple) or len(span) != 2:
                raise CalendarError(f"{key}: each opening is a [start, end] pair")
            start, end = _minutes(str(span[0]), key), _minutes(str(span[1]), key)
            if end <= start:
                raise CalendarError(f"{key}: {span[0]}–{span[1]} ends before it starts")
            intervals.append((start, end))
        intervals.sort()
        for (_s1, e1), (s2, _e2) in pairwise(intervals):
            if s2 < e1:
                raise CalendarError(f"{key}: opening hours overlap")
        parsed[DAYS.index(day)] = tuple(intervals)
    if not any(parsed.values()):
        raise CalendarError("the calendar has no opening hours at all")
    return parsed


def parse_holidays(holidays: Iterable[Any]) -> frozenset[date]:
    days = set()
    for value in holidays:
        try:
            days.add(date.fromisoformat(str(value)))
        except ValueError:
            raise CalendarError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return frozenset(days)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"{name!r} is not a time zone (use an IANA name such as Europe/London)") from None


@dataclass
class Calendar:
    """Working time: weekly hours in a time zone, minus holidays."""

    timezone: str
    hours: dict[int, tuple[tuple[int, int], ...]]
    holidays: frozenset[date] = frozenset()
    _tz: ZoneInfo = field(init=False, repr=False)
    _days: dict[date, tuple[tuple[float, float], ...]] = field(init=False, repr=False, default_factory=dict)
    _dates: dict[float, date] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._tz = zone(self.timezone)

    @classmethod
    def from_definition(cls, timezone: str, hours: Mapping[str, Any], holidays: Iterable[Any] = ()) -> Calendar:
        return cls(timezone, parse_hours(hours), parse_holidays(holidays))

    def _local(self, day: date, minute: int) -> float:
        if minute >= 1440:
            day, minute = day + timedelta(days=1), minute - 1440
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self._tz)
        return local.timestamp()

    def day_intervals(self, day: date) -> tuple[tuple[float, float], ...]:
        """The opening intervals of one local date, as epoch seconds."""
        cached = self._days.get(day)
        if cached is None:
            spans = () if day in self.holidays else self.hours.get(day.weekday(), ())
            cached = tuple((self._local(day, s), self._local(day, e)) for s, e in spans)
            self._days[day] = cached
        return cached

    def _local_date(self, epoch: float) -> date:
        """The local date at an instant; remembered, since a ticket's clocks ask again for the
        same instants (every clock settles at each status change)."""
        found = self._dates.get(epoch)
        if found is None:
            if len(self._dates) >= 65_536:
                self._dates.clear()
            found = self._dates[epoch] = datetime.fromtimestamp(epoch, self._tz).date()
        return found

    def elapsed(self, start: float, end: float) -> float:
        """Working seconds in [start, end) (epoch seconds)."""
        if end <= start:
            return 0.0
        total = 0.0
        day = self._local_date(start) - timedelta(days=1)
        last = self._local_date(end)
        while day <= last:
            for opens, closes in self.day_intervals(day):
                low, high = max(opens, start), min(closes, end)
                if high > low:
                    total += high - low
            day += timedelta(days=1)
        return total

    def add(self, start: float, seconds: float) -> float | None:
        """The instant when ``seconds`` of working time after ``start`` have passed.

        None when the calendar has no opening hours in the next ten years (all holidays).
        """
        remaining = max(0.0, seconds)
        day = self._local_date(start) - timedelta(days=1)
        for _ in range(MAX_DAYS):
            for opens, closes in self.day_intervals(day):
                low = max(opens, start)
                if closes <= low:
                    continue
                if remaining <= closes - low:
                    return low + remaining
                remaining -= closes - low
            day += timedelta(days=1)
        return None


class AlwaysOpen:
    """Round the clock: working time is wall time."""

    timezone = "UTC"

    def elapsed(self, start: float, end: float) -> float:
        return max(0.0, end - start)

    def add(self, start: float, seconds: float) -> float | None:
        return start + max(0.0, seconds)


ALWAYS = AlwaysOpen()
WorkingTime = Calendar | AlwaysOpen


def to_epoch(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)
