"""CPU time of the PostgreSQL backends serving one database (from /proc; the cluster must run on
this machine). A server's pooled connections live as long as the run, so their CPU before and
after a run, divided by its pushes, is PostgreSQL's share of a push — on two shared cores it
competes with the server's own. A backend that exits during the run (a pool's overflow
connection) takes its CPU with it: read the figure as a lower bound under many clients."""

from __future__ import annotations

import os
from pathlib import Path


def backend_cpu_seconds(url: str) -> float:
    """User + system CPU seconds of the live backends connected to ``url``'s database."""
    import psycopg

    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(url, autocommit=True) as connection:
        pids = [
            row[0]
            for row in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
            )
        ]
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile, or another machine's cluster
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")
