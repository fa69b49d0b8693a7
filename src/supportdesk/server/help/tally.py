"""The help center's tally worker: its daily figures, written where every replica reads them.

Every ``[help] tally_seconds`` it sums the server's own bookkeeping for the days still moving
(today, and the days a deflection may still settle in) — searches, empty searches and views
from ``help_activity``, deflections from ``help_deflection`` (an article opened from the form's
suggestions, no request filed from that form within ``deflection_minutes``) — and writes each
day whose sums changed with ``help.tally``. One write a day and interval at most, and none when
nothing moved: a busy help center costs the change log a few rows a day, not one a page view.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from supportdesk.domain.context import SYSTEM
from supportdesk.store.times import utcnow

if TYPE_CHECKING:
    from supportdesk.server.help.context import HelpCenter
    from supportdesk.server.state import ServerState

log = logging.getLogger(__name__)


def day_figures(center: HelpCenter, day: date, now: datetime) -> dict[str, Any]:
    """The sums of one UTC day, as ``help.tally`` takes them."""
    start = datetime.combine(day, time.min, tzinfo=now.tzinfo)
    end = start + timedelta(days=1)
    settled = now - timedelta(minutes=center.settings.deflection_minutes)
    with center.database.read_engine.connect() as connection:
        counted: dict[str, int] = {
            str(kind): int(total or 0)
            for kind, total in connection.execute(
                text("SELECT kind, sum(count) FROM help_activity WHERE day = :day GROUP BY kind"),
                {"day": day.isoformat()},
            )
        }
        deflections = connection.execute(
            text(
                "SELECT count(DISTINCT form_id) FROM help_deflection "
                "WHERE opened_at >= :start AND opened_at < :end AND opened_at < :settled"
            ),
            {"start": start, "end": end, "settled": settled},
        ).scalar()
    return {
        "day": day.isoformat(),
        # every search; ``search`` counts those that found something, ``search_empty`` the rest
        "searches": counted.get("search", 0) + counted.get("search_empty", 0),
        "searches_empty": counted.get("search_empty", 0),
        "views": counted.get("view", 0),
        "deflections": int(deflections or 0),
    }


def tally(center: HelpCenter) -> int:
    """Write the figures of the moving days that changed; how many days were written."""
    now = utcnow()
    first = (now - timedelta(minutes=center.settings.deflection_minutes, days=1)).date()
    written = 0
    day = first
    while day <= now.date():
        figures = day_figures(center, day, now)
        with center.database.read_engine.connect() as connection:
            row = connection.execute(
                text("SELECT searches, searches_empty, views, deflections FROM help_day WHERE id = :d"),
                {"d": figures["day"]},
            ).first()
        have = tuple(row) if row is not None else None
        want = (figures["searches"], figures["searches_empty"], figures["views"], figures["deflections"])
        if have != want and (have is not None or any(want)):
            center.state.apply_as(SYSTEM, "help.tally", figures)
            written += 1
        day += timedelta(days=1)
    return written


def install(center: HelpCenter) -> None:
    """Run the tally every ``tally_seconds`` while the server runs (0: never)."""
    seconds = center.settings.tally_seconds
    if seconds <= 0:
        return

    def worker(_state: ServerState) -> Callable[[], None]:
        stopping = threading.Event()

        def run() -> None:
            while not stopping.wait(seconds):
                try:
                    tally(center)
                except Exception:  # a database hiccup: the next round catches up
                    log.exception("the help center's tally failed; retrying in %s s", seconds)

        thread = threading.Thread(target=run, name="supportdesk-help-tally", daemon=True)
        thread.start()

        def stop() -> None:
            stopping.set()
            thread.join(10)

        return stop

    center.state.workers.append(worker)
