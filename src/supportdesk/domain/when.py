"""When a snooze ends, as an agent types it: ``3d``, ``2h``, ``tomorrow 9:00``, ``mon``, ``17:30``.

Durations are the query language's (``30m``, ``2h``, ``7d``, ``1w``: ``store.times.parse_duration``)
and count from now. Days and times are the agent's local ones: ``tomorrow`` / ``today`` /
a weekday (``mon`` … ``sunday``: the next one, never today) / an ISO date, each with an optional
time (``9``, ``9:30``, ``17:00``, ``9am``, ``5pm``; 9:00 when left out, the start of a working
day); a time alone is today's if it is still ahead, else tomorrow's; an ISO instant
(``2026-12-07T09:00:00+01:00``) is itself. "Now" is :func:`supportdesk.store.times.utcnow`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from supportdesk.domain.errors import ValidationFailed
from supportdesk.store.times import parse_duration, utcnow

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
#: When a day is named without a time: the start of a working day.
DEFAULT_TIME = time(9, 0)
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
EXAMPLES = "3d, 2h, tomorrow 9:00, mon, friday 14:00, 17:30 or 2026-12-24"


def _refuse(text: str) -> ValidationFailed:
    return ValidationFailed(f"{text!r} is not a time to snooze until: try {EXAMPLES}", field="until")


def _clock(text: str) -> time | None:
    match = _TIME.match(text.strip().lower())
    if match is None:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _weekday(word: str) -> int | None:
    word = word.lower().rstrip(".")
    if len(word) < 3:
        return None
    return next((index for index, name in enumerate(WEEKDAYS) if name.startswith(word)), None)


def _at(day: date, clock: time) -> datetime:
    """``clock`` on ``day`` in the local zone, as UTC."""
    return datetime.combine(day, clock).astimezone().astimezone(UTC)


def parse_until(text: str, now: datetime | None = None) -> datetime:
    """The instant ``text`` names (UTC), or :class:`ValidationFailed` with examples."""
    now = now or utcnow()
    words = text.strip().split()
    if not words or len(text) > 64:
        raise _refuse(text[:64])
    duration = parse_duration(words[0]) if len(words) == 1 else None
    if duration is not None:
        try:
            return now + duration
        except OverflowError:
            raise _refuse(text) from None
    today = now.astimezone().date()
    first = words[0].lower()
    clock = _clock(" ".join(words[1:])) if len(words) > 1 else DEFAULT_TIME
    if clock is None:
        raise _refuse(text)
    if first == "today":
        return _at(today, clock)
    if first == "tomorrow":
        return _at(today + timedelta(days=1), clock)
    weekday = _weekday(first)
    if weekday is not None:
        ahead = (weekday - today.weekday()) % 7 or 7
        return _at(today + timedelta(days=ahead), clock)
    if len(words) == 1:
        alone = _clock(first)
        if alone is not None:
            instant = _at(today, alone)
            return instant if instant > now else _at(today + timedelta(days=1), alone)
        if "T" in words[0] and words[0].isascii():
            try:
                parsed = datetime.fromisoformat(words[0].replace("Z", "+00:00"))
            except ValueError:
                raise _refuse(text) from None
            return (parsed if parsed.tzinfo else parsed.astimezone()).astimezone(UTC)
    try:
        day = date.fromisoformat(first) if first.isascii() else None
    except ValueError:
        day = None
    if day is None:
        raise _refuse(text)
    return _at(day, clock)
