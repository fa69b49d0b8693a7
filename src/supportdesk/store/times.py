"""Time handling: one clock for the whole process, and every stored time timezone-aware UTC.

**The clock.** Every layer asks :func:`utcnow` for "now" — the demo, the query compiler
(``created>7d``), SLA clocks, reports, the console, the server, webhook signatures. It reads the
system clock unless something pinned it: :func:`set_clock` (tests, and a console told ``clock=``)
or the ``SUPPORTDESK_NOW`` environment variable. ``SUPPORTDESK_NOW=2026-11-25T12:00:00Z`` starts
this process's clock at that instant and lets it run on; ``2026-11-25T12:00:00Z@1764000000.5``
says the instant was the system's unix time ``1764000000.5``, so every process started with the
same value (a test's CLI commands and servers) reads one and the same calendar. Nothing else may
read the wall clock for "now": a suite that mixes a pinned demo with the real date passes on one
day and fails on another.

**A demo workspace carries its own clock.** ``supportdesk demo`` builds its history up to a fixed
instant (``--now``), so the same seed gives the same workspace on any day; it then stores
``demo_clock`` (the same text as ``SUPPORTDESK_NOW``, with the build's unix time after the ``@``).
Opening that workspace adopts it (:func:`adopt_clock`) unless the process's clock is already
pinned, so the console and every CLI command see the demo as it was when built, ageing as real
time passes, and all of them read one calendar.

On SQLite, SQLModel's ``UTCDateTime`` writes ``YYYY-MM-DD HH:MM:SS.ffffff`` (always with
microseconds, always UTC). That text sorts in time order, so the raw ``sqlite3`` read path and
the bulk writers use :func:`to_db` / :func:`from_db` to speak exactly the same format.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

DB_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
NOW_VARIABLE = "SUPPORTDESK_NOW"

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant (``2026-11-25T12:00:00Z``); a naive one is taken as UTC."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 instant such as 2026-11-25T12:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def running_from(start: datetime, at: float | None = None) -> Clock:
    """A clock that read ``start`` at the system's unix time ``at`` (default: now) and runs on."""
    shift = start.timestamp() - (time.time() if at is None else at)

    def clock() -> datetime:
        return datetime.fromtimestamp(time.time() + shift, UTC)

    return clock


def fixed(instant: datetime) -> Clock:
    """A clock that always reads ``instant`` (tests wind it with :func:`set_clock`)."""
    return lambda: instant


def _clock_from_environment() -> Clock | None:
    text = os.environ.get(NOW_VARIABLE)
    if not text:
        return None
    return clock_from_text(text, NOW_VARIABLE)


def clock_from_text(text: str, source: str = NOW_VARIABLE) -> Clock:
    """The clock a ``SUPPORTDESK_NOW``-style value names: ``INSTANT`` (read now) or ``INSTANT@UNIX``."""
    instant, _, at = text.partition("@")
    try:
        anchor = float(at) if at else None
    except ValueError:
        raise ValueError(f"{source}: {at!r} is not a unix time in seconds") from None
    return running_from(parse_instant(instant), anchor)


def reading_now(instant: datetime) -> str:
    """The ``INSTANT@UNIX`` text of a clock that reads ``instant`` at this very moment."""
    return f"{instant.astimezone(UTC).isoformat()}@{time.time()!r}"


_UNREAD = object()
_clock: Clock | object | None = _UNREAD
#: True while the clock in force is one a workspace brought (see :func:`adopt_clock`).
_adopted = False


def utcnow() -> datetime:
    """Now, from the process's one clock (see the module docstring)."""
    global _clock
    if _clock is _UNREAD:
        _clock = _clock_from_environment()  # a bad value raises here, with a sentence, every time
    return _clock() if callable(_clock) else datetime.now(UTC)


def set_clock(clock: Clock | None) -> Clock | None:
    """Pin the process's clock; ``None`` goes back to ``SUPPORTDESK_NOW`` or else the system clock.
    Returns the pinned clock it replaces (``None`` if there was none)."""
    global _clock, _adopted
    previous = _clock if callable(_clock) else None
    _clock = _UNREAD if clock is None else clock
    _adopted = False
    return previous


def adopt_clock(text: str) -> bool:
    """Run this process on a workspace's own clock (a demo's ``demo_clock``), unless a clock is
    already pinned (:func:`set_clock`, ``SUPPORTDESK_NOW``): an explicit pin always wins.
    Returns whether it was adopted; an unreadable value is ignored (the system clock stays)."""
    global _clock, _adopted
    pinned = (callable(_clock) and not _adopted) or bool(os.environ.get(NOW_VARIABLE))
    if pinned:
        return False
    try:
        _clock = clock_from_text(text, "demo_clock")
    except ValueError:
        return False
    _adopted = True
    return True


@contextmanager
def using_clock(clock: Clock) -> Iterator[None]:
    previous = set_clock(clock)
    try:
        yield
    finally:
        set_clock(previous)


def to_db(value: datetime) -> str:
    """Format an aware datetime the way SQLModel stores it on SQLite."""
    if value.utcoffset() is None:
        raise ValueError("naive datetime: every supportdesk time is timezone-aware UTC")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.strftime(DB_FORMAT)


def from_db(text: str | None) -> datetime | None:
    """Parse a stored time (SQLite text form) back into an aware UTC datetime."""
    if text is None:
        return None
    if "T" in text:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    # fromisoformat reads "YYYY-MM-DD HH:MM:SS[.ffffff]" ~20x faster than strptime, which a
    # listing of 100,000 tickets calls 200,000 times.
    return datetime.fromisoformat(text[:26]).replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with a ``Z``, for JSON output."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def relative(value: datetime | None, now: datetime | None = None) -> str:
    """A short age such as ``5m``, ``3h``, ``2d``, ``4w`` for narrow table columns."""
    if value is None:
        return ""
    now = now or utcnow()
    seconds = int((now - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        text = "now" if not future else "<1m"
        return text
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{seconds // size}{unit}"
            return f"in {text}" if future else text
    return "now"  # pragma: no cover - the loop always returns


def parse_duration(text: str) -> timedelta | None:
    """``30m``, ``2h``, ``7d``, ``1w`` → timedelta; anything else → None."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        return None
    amount = int(text[:-1])
    if amount > 100_000:
        return None
    return timedelta(seconds=amount * units[text[-1]])
