"""``help.tally``: one day's help-center figures, as the server counted them.

The help center counts searches, views and deflections in server-only tables (a busy help
center must not add a change-log row per page view). Its tally worker sums them per day and
writes the sums here when they changed, so every replica pulls a few rows a day and reports
read them offline. The server's job alone (admins only); the sums replace what was there.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from supportdesk.domain.registry import ADMINS, Args, mutation
from supportdesk.domain.tx import Tx

FIGURES = ("searches", "searches_empty", "views", "deflections")


class Tally(Args):
    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    searches: int = Field(ge=0)
    searches_empty: int = Field(ge=0)
    views: int = Field(ge=0)
    deflections: int = Field(ge=0)


@mutation("help.tally", Tally, roles=ADMINS)
def tally(tx: Tx, args: Tally) -> dict[str, Any]:
    """Record one day's help-center figures (searches, empty searches, views, deflections)."""
    values = {name: getattr(args, name) for name in FIGURES}
    row = tx.row("help_day", args.day)
    if row is None:
        tx.insert("help_day", {"id": args.day, **values, "updated_at": tx.now})
        return {"day": args.day, "changed": sorted(FIGURES)}
    changed = {name: value for name, value in values.items() if row[name] != value}
    if changed:  # counters, not anyone's edit: no audit event per figure and minute
        tx.write_quietly("help_day", args.day, {**changed, "updated_at": tx.now})
    return {"day": args.day, "changed": sorted(changed)}
