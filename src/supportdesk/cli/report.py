"""``supportdesk report``: support metrics over a period, overall or grouped.

Reads the workspace with plain sqlite3; the metric definitions are in
:mod:`supportdesk.domain.metrics` and in the README.
"""

from __future__ import annotations

from typing import Annotated

import typer

from supportdesk.cli.options import LISTING, Output
from supportdesk.cli.server import DbOpt
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

TABLE_FIELDS = (
    "created",
    "solved",
    "backlog",
    "first_reply_median_m",
    "resolution_median_h",
    "fcr_pct",
    "sla_attainment_pct",
    "csat_pct",
    "nps",
)


@command(LISTING)
def report(
    session: Session,
    out: Output,
    what: Annotated[
        str | None,
        typer.Argument(
            metavar="[trends|self-service|rebuild]",
            help="trends: what spiked this week (clusters of tickets); self-service: the help center and "
            "answer bot figures alone; rebuild: recompute the per-day rollup reports read (--db: a server's).",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str,
        typer.Option(
            "--since", metavar="AGE|DATE", help="Period start: an age (30d, 12w, 24h) or a date (2026-01-01)."
        ),
    ] = "30d",
    by: Annotated[
        str | None,
        typer.Option(
            "--by", metavar="GROUPING", help="Group by agent, group, channel, day, week or month.", show_default=False
        ),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Report first reply and resolution times, FCR, reopens, handle and logged time, SLA attainment, CSAT, NPS,
    CES, backlog and volume; or, with trends, what spiked this week (clusters of the last 7 days'
    tickets against the 4 weeks before, each with its ~"…" query term).

    The table and --json also carry the self-service figures (help-center searches, article views
    and votes, deflections, web-form requests, the answer bot's answers and resolutions).

    Example: supportdesk report --since 30d --by agent --csv; supportdesk report trends --json;
    supportdesk report rebuild
    """
    from supportdesk.cli.errors import fail
    from supportdesk.domain.metrics import GROUPINGS, build_report, since_from
    from supportdesk.store.times import iso, utcnow

    if what == "rebuild":
        _rebuild(session, db)
        return
    if db is not None:
        fail("--db goes with rebuild: reports read this workspace")
    if what is not None and what != "self-service":
        if what != "trends":
            fail(f"{what!r} is not a report: give none for the metrics, trends, self-service or rebuild")
        from supportdesk.cli.assist import trends

        trends(session, out)
        return
    if by is not None and by not in GROUPINGS:
        fail(f"cannot group by {by!r}: choose one of {', '.join(GROUPINGS)}")
    now = utcnow()
    try:
        start = since_from(since, now)
    except ValueError as error:
        fail(str(error))
    if start >= now:
        fail(f"--since {since} is not in the past")
    from supportdesk.domain.self_service import FIELDS as SELF_SERVICE
    from supportdesk.domain.self_service import self_service

    title = f"{iso(start)} – {iso(now)}" + (f" by {by}" if by else "")
    with session.workspace().reading() as connection:
        helped = self_service(connection, since=start, until=now).as_dict()
        if what == "self-service":
            out.records([helped], out.columns(SELF_SERVICE), title=f"Self-service {title}")
            return
        result = build_report(connection, since=start, until=now, by=by)
    if out.json and not out.fields:
        out.document({"since": iso(start), "until": iso(now), "by": by, "rows": result.rows, "self_service": helped})
        return
    chosen = out.columns(result.fields, table=[result.key, *TABLE_FIELDS])
    out.records(result.rows, chosen, title=title)
    if out.table and not out.fields:
        rows = [{"figure": name.replace("_", " "), "value": helped[name]} for name in SELF_SERVICE]
        out.records(rows, ["figure", "value"], title="Self-service")


def _rebuild(session: Session, db: str | None) -> None:
    """Recompute the report rollups (``report_day`` and those of ``store.rollup_activity``): a
    workspace's, or with --db a server's.

    The rollup is derived and local (never synced), so a workspace that follows a server
    rebuilds its own; ``sla rebuild`` first when the timing rows themselves are in doubt.
    """
    import time

    from supportdesk.store import rollup

    started = time.perf_counter()
    if db is None:
        with session.workspace().writing() as connection:
            rows = rollup.rebuild(connection)
    else:
        from sqlalchemy import text

        from supportdesk.cli.server import _database

        database = _database(db)
        try:
            with database.engine.begin() as connection:
                for statement in rollup.all_fill_statements(connection.dialect.name):
                    connection.execute(text(statement))
                rows = int(connection.execute(text(f"SELECT count(*) FROM {rollup.TABLE}")).scalar_one())
        finally:
            database.dispose()
    typer.echo(f"rebuilt the report rollup: {rows:,} day rows in {time.perf_counter() - started:.1f}s")
