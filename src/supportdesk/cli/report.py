"""``supportdesk report``: support metrics over a period, overall or grouped.

Reads the workspace with plain sqlite3; the metric definitions are in
:mod:`supportdesk.domain.metrics` and in the README.
"""

from __future__ import annotations

from typing import Annotated

import typer

from supportdesk.cli.options import CsvOpt, FieldsOpt, JsonOpt, NoHeadersOpt, PlainOpt
from supportdesk.cli.state import STATE

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


def report(
    since: Annotated[
        str, typer.Option("--since", help="Period start: an age (30d, 12w, 24h) or a date (2026-01-01).")
    ] = "30d",
    by: Annotated[
        str | None, typer.Option("--by", help="Group by agent, group, channel, day, week or month.", show_default=False)
    ] = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    plain: PlainOpt = False,
    fields: FieldsOpt = None,
    no_headers: NoHeadersOpt = False,
) -> None:
    """Report first reply and resolution times, FCR, reopens, handle time, SLA attainment, CSAT, NPS,
    CES, backlog and volume.

    Example: supportdesk report --since 30d --by agent --csv
    """
    from supportdesk.cli.errors import fail
    from supportdesk.cli.output import Format, choose_format, emit_document, emit_records, parse_fields
    from supportdesk.domain.metrics import GROUPINGS, build_report, since_from
    from supportdesk.store.times import iso, utcnow

    if by is not None and by not in GROUPINGS:
        fail(f"cannot group by {by!r}: choose one of {', '.join(GROUPINGS)}")
    now = utcnow()
    try:
        start = since_from(since, now)
    except ValueError as error:
        fail(str(error))
    if start >= now:
        fail(f"--since {since} is not in the past")
    fmt = choose_format(json_=json_, csv_=csv_, plain=plain)
    with STATE.workspace().reading() as connection:
        result = build_report(connection, since=start, until=now, by=by)
    if fmt == Format.JSON and not fields:
        emit_document({"since": iso(start), "until": iso(now), "by": by, "rows": result.rows})
        return
    default = [result.key, *TABLE_FIELDS] if fmt == Format.TABLE else result.fields
    chosen = parse_fields(fields, default, result.fields)
    title = f"{iso(start)} – {iso(now)}" + (f" by {by}" if by else "")
    emit_records(result.rows, chosen, fmt, headers=not no_headers, title=title)
