"""Time as an agent types it for the time log: ``15m``, ``1h30m``, ``1h 30m``, ``2h``, ``1:15``.

Manual time tracking (``tickets time N 15m``, the console's time key) counts whole minutes,
from one minute to :data:`MAX_SECONDS` an entry: a day's work is the most one entry can hold,
so a typo such as ``150h`` is refused rather than poisoning a report. There are no negative
entries: a wrong one is corrected or deleted.
"""

from __future__ import annotations

import re

from supportdesk.domain.errors import ValidationFailed

#: The longest one entry may be (a working day, generously).
MAX_SECONDS = 12 * 3600
MIN_SECONDS = 60
EXAMPLES = "15m, 1h30m, 2h or 1:15"
_PARTS = re.compile(r"^(?:(\d{1,3})\s*h)?\s*(?:(\d{1,4})\s*m(?:in)?)?$")
_CLOCK = re.compile(r"^(\d{1,2}):([0-5]\d)$")


def parse_minutes(text: str, *, field: str = "time") -> int:
    """Seconds (a whole number of minutes) of ``text``; a clear :class:`ValidationFailed` otherwise."""
    cleaned = " ".join(str(text).split()).lower()
    hours = minutes = 0
    clock = _CLOCK.match(cleaned)
    parts = _PARTS.match(cleaned) if clock is None else None
    if clock is not None:
        hours, minutes = int(clock.group(1)), int(clock.group(2))
    elif parts is not None and cleaned and (parts.group(1) or parts.group(2)):
        hours, minutes = int(parts.group(1) or 0), int(parts.group(2) or 0)
    else:
        shown = cleaned[:40] + ("…" if len(cleaned) > 40 else "")
        raise ValidationFailed(f"{shown!r} is not a time to log: try {EXAMPLES}", field=field)
    seconds = hours * 3600 + minutes * 60
    return check_seconds(seconds, field=field)


def split_entry(text: str, *, field: str = "time") -> tuple[int, str]:
    """``30m called the customer`` → (1800, ``called the customer``): the time first, then a note.

    The time may hold a space (``1h 30m``): the longest leading words that read as a time win.
    """
    words = str(text).split()
    for count in range(min(3, len(words)), 0, -1):
        try:
            seconds = parse_minutes(" ".join(words[:count]), field=field)
        except ValidationFailed:
            if count == 1:
                raise
            continue
        return seconds, " ".join(words[count:])
    return parse_minutes(text, field=field), ""


def check_seconds(seconds: int, *, field: str = "time") -> int:
    if seconds < MIN_SECONDS:
        raise ValidationFailed("log at least one minute (a wrong entry is corrected or deleted)", field=field)
    if seconds > MAX_SECONDS:
        raise ValidationFailed(f"one entry holds at most {MAX_SECONDS // 3600}h: log the rest separately", field=field)
    if seconds % 60:
        raise ValidationFailed("time is logged in whole minutes", field=field)
    return seconds


def shown(seconds: int | float) -> str:
    """``1h 30m``, ``45m``, ``0m`` — a duration for people."""
    minutes = round(seconds / 60)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours}h {rest}m"
    return f"{hours}h" if hours else f"{rest}m"
