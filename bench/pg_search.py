"""Free-text search on a PostgreSQL team server at scale: p50/p95 of ``GET /v1/tickets?query=…``.

Usage: python bench/pg_search.py postgresql://…/dbname [--runs 60] [--plans plans.txt]
       [--sorts newest,relevance]

The database is a demo loaded by ``bench/pg_load_demo.py``. The script picks its words from the
data, each counted with the very condition the server runs (``compile_query``):

- a **rare** word (in a handful of tickets: a requester's surname or address part),
- a **common** word, in the share of tickets closest to 15 %,
- a **phrase** (two words adjacent in a message), and a **prefix** (the common word's first
  four letters and ``*``).

Then it starts ``supportdesk serve`` on 127.0.0.1 over the database, as an admin (who sees every
ticket, so nothing is filtered out by groups), and times each query's first page (50 tickets,
newest first unless ``--sorts`` says ``relevance`` too) over HTTP: a few warm-up requests, then
``--runs`` timed ones, reporting p50 and p95 in milliseconds and the server's CPU per request.
``--plans`` writes ``EXPLAIN (ANALYZE, BUFFERS)`` of each query's SQL as the REST endpoint
builds it, to see why it is fast or slow.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from sync_harness import Server

#: Tickets sampled to find candidate words (their documents' word frequencies).
SAMPLE = 3000


def plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def count(connection: Any, query: str) -> int:
    from supportdesk.store.query import compile_query

    compiled = compile_query(query, dialect="postgresql")
    sql, params = to_psycopg(compiled.where, compiled.params)
    row = connection.execute(f"SELECT count(*) FROM ticket t WHERE {sql}", params).fetchone()
    return int(row[0])


def to_psycopg(sql: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``:p1`` (SQLAlchemy's ``text()``) to ``%(p1)s`` (psycopg), longest names first."""
    for name in sorted(params, key=len, reverse=True):
        sql = sql.replace(f":{name}", f"%({name})s")
    return sql, params


def sample_words(connection: Any) -> list[tuple[str, int]]:
    """(word, tickets of the sample holding it), from ``SAMPLE`` random tickets' documents."""
    document = (
        "SELECT to_tsvector('simple', supportdesk_search_text(t.subject || ' ' || coalesce(c.name, '') || ' ' || "
        "coalesce((SELECT string_agg(m.body, ' ') FROM message m WHERE m.ticket_id = t.id), ''))) "
        f"FROM (SELECT * FROM ticket ORDER BY random() LIMIT {SAMPLE}) t LEFT JOIN customer c ON c.id = t.requester_id"
    )
    return [
        (word, int(ndoc))
        for word, ndoc in connection.execute("SELECT word, ndoc FROM ts_stat(%s) ORDER BY ndoc DESC", (document,))
    ]


def pick_queries(connection: Any, total: int) -> dict[str, tuple[str, int]]:
    """{kind: (query, matching tickets)}."""
    import random

    words = sample_words(connection)
    rng = random.Random(13)
    chosen: dict[str, tuple[str, int]] = {}
    # the common word: sample frequency nearest 15 %, then counted exactly
    near = sorted((w for w in words if w[0].isalpha() and len(w[0]) >= 5), key=lambda w: abs(w[1] / SAMPLE - 0.15))
    for word, _ndoc in near[:6]:
        found = count(connection, word)
        if 0.10 <= found / total <= 0.20:
            chosen["common"] = (word, found)
            break
    # the rare word: in a handful of tickets (from the stored documents where there are some)
    singles = [w for w, n in words if n == 1 and w.isalpha() and len(w) >= 5]
    if connection.execute("SELECT to_regclass('public.ticket_search') IS NOT NULL").fetchone()[0]:
        singles = [
            word
            for (word,) in connection.execute(
                "SELECT word FROM ts_stat('SELECT document FROM ticket_search TABLESAMPLE SYSTEM (10)') "
                "WHERE ndoc = 1 AND word ~ '^[a-z]{5,}$'"
            )
        ]
    rng.shuffle(singles)
    for word in singles[:40]:
        found = count(connection, word)
        if 1 <= found <= 10:
            chosen["rare"] = (word, found)
            break
    if "common" in chosen:
        common = chosen["common"][0]
        chosen["prefix"] = (common[:4] + "*", count(connection, common[:4] + "*"))
        # a phrase: the common word and the word after it in a message that holds it
        row = connection.execute(
            "SELECT m.body FROM message m WHERE to_tsvector('simple', supportdesk_search_text(m.body)) "
            "@@ to_tsquery('simple', %s) LIMIT 1",
            (common,),
        ).fetchone()
        if row:
            import re

            tokens = re.findall(r"[^\W_]+", row[0].lower())
            if common in tokens and tokens.index(common) + 1 < len(tokens):
                at = tokens.index(common)
                phrase = f'"{tokens[at]} {tokens[at + 1]}"'
                chosen["phrase"] = (phrase, count(connection, phrase))
                # the same two words the other way round: common words, rarely (if ever) in
                # that order — the planner still expects them often, and walked every ticket
                backwards = f'"{tokens[at + 1]} {tokens[at]}"'
                chosen["backwards"] = (backwards, count(connection, backwards))
    return chosen


def rest_sql(query: str, sort: str) -> tuple[str, dict[str, Any]]:
    """The SQL ``GET /v1/tickets`` runs for an admin's first page (server/routes/tickets.py)."""
    from supportdesk.server.routes import tickets
    from supportdesk.store.query import compile_query

    compiled = compile_query(f"{query} sort:{sort}" if sort != "newest" else query, dialect="postgresql")
    if hasattr(tickets, "page_sql"):
        sql, params, _sort = tickets.page_sql(compiled, "TRUE", {}, None, 50, "postgresql")
        return to_psycopg(sql, params)
    # the code before page_sql (main, for the turnabout): its _ticket_page's statement
    chosen = compiled.sort if compiled.sort in tickets._SORTS else "updated-desc"
    if compiled.sort in ("newest", "relevance"):
        chosen = "created-desc"
    column, direction = tickets._SORTS[chosen]
    names = ", ".join(f"t.{name}" for name in tickets.ticket_fields.columns(rest=True))
    sql = (
        f"SELECT {names}, {column} AS sort_key FROM ticket t WHERE ({compiled.where}) AND (TRUE) "
        f"ORDER BY {column} {direction}, t.id {direction} LIMIT 51"
    )
    return to_psycopg(sql, compiled.params)


def statements(query: str, sort: str) -> list[tuple[str, tuple[str, dict[str, Any]], tuple[str, ...]]]:
    """What the server may run for an admin's first page: (label, SQL and parameters, planner
    settings turned off). A newest-first phrase is walked first and, when that falls short,
    asked of the GIN index in an order no index gives (``server.routes.tickets.page_rows``)."""
    from supportdesk.server.routes import tickets
    from supportdesk.store.query import compile_query

    page = rest_sql(query, sort)
    compiled = compile_query(f"{query} sort:{sort}" if sort != "newest" else query, dialect="postgresql")
    chosen = "created-desc" if sort == "newest" else sort
    if hasattr(tickets, "ranks_phrase") and tickets.ranks_phrase(compiled, chosen, "postgresql"):
        # the pool of the newest matches is found as a newest-first page of that many is
        compiled, limit = compile_query(query, dialect="postgresql"), tickets.RELEVANCE_POOL - 1
    elif hasattr(tickets, "walks_phrase") and tickets.walks_phrase(compiled, chosen, "postgresql"):
        limit = 50
    else:
        return [("", page, ())]
    walk = to_psycopg(*tickets.phrase_walk_sql(compiled, "TRUE", {}, None, limit))
    indexed = tickets.page_sql(compiled, "TRUE", {}, None, limit, "postgresql", walk_in_order=False)
    return [("(walk)", walk, ()), ("(index)", to_psycopg(indexed[0], indexed[1]), ())]


def time_sql(connection: Any, sql: str, params: dict[str, Any], runs: int) -> list[float]:
    """Milliseconds of ``runs`` executions (all rows fetched), after two warm-up ones."""
    for _ in range(2):
        connection.execute(sql, params).fetchall()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        connection.execute(sql, params).fetchall()
        samples.append(1000 * (time.perf_counter() - started))
    return samples


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--plans", type=Path)
    parser.add_argument("--sorts", default="newest", help="Comma-separated: newest, relevance.")
    parser.add_argument("--queries", help="Reuse kind=query pairs (rare=foo,common=bar) instead of picking.")
    options = parser.parse_args()

    import psycopg

    from supportdesk.server import admin
    from supportdesk.server.db import open_database

    with psycopg.connect(plain(options.url), autocommit=True) as connection:
        total = int(connection.execute("SELECT count(*) FROM ticket").fetchone()[0])
        messages = int(connection.execute("SELECT count(*) FROM message").fetchone()[0])
        print(f"{total:,} tickets, {messages:,} messages; load average {os.getloadavg()}")
        if options.queries:
            picked = {}
            for pair in options.queries.split(","):
                kind, query = pair.split("=", 1)
                picked[kind] = (query, count(connection, query))
        else:
            started = time.perf_counter()
            picked = pick_queries(connection, total)
            print(f"picked in {time.perf_counter() - started:.1f} s")
        for kind, (query, found) in picked.items():
            print(f"  {kind}: {query!r} in {found:,} tickets ({100 * found / total:.2f} %)")
        if options.plans:
            with options.plans.open("w") as out:
                for sort in options.sorts.split(","):
                    for kind, (query, _found) in picked.items():
                        for label, (sql, params), forced in statements(query, sort):
                            explain = f"EXPLAIN (ANALYZE, BUFFERS) {sql}"
                            with connection.transaction():
                                for setting in forced:
                                    connection.execute(f"SET LOCAL {setting} = off")
                                connection.execute(explain, params)  # warm
                                plan = connection.execute(explain, params).fetchall()
                            out.write(
                                f"== {kind} {query} sort:{sort} {label}\n" + "\n".join(r[0] for r in plan) + "\n\n"
                            )
            print(f"plans written to {options.plans}")
        print(f"SQL alone (psycopg, {options.runs} runs each, warm):")
        print(f"{'query':<10} {'sort':<10} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for sort in options.sorts.split(","):
            for kind, (query, _found) in picked.items():
                sql, params = rest_sql(query, sort)
                runs = options.runs if sort == "newest" or picked[kind][1] < 1000 else max(5, options.runs // 6)
                samples = time_sql(connection, sql, params, runs)
                print(
                    f"{kind:<10} {sort:<10} {statistics.median(samples):8.1f} {percentile(samples, 0.95):8.1f} "
                    f"{max(samples):8.1f}",
                    flush=True,
                )

    database = open_database(options.url)
    email = f"search-bench-{os.getpid()}@bench.test"
    admin.add_agent(database, "Search Bench", email, "admin", [])
    token = admin.new_token(database, email)[1]
    database.dispose()
    with (
        tempfile.TemporaryDirectory() as tmp,
        Server(options.url, Path(tmp) / "server.log", ("--no-triage",)) as server,
    ):
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
            print("over HTTP (GET /v1/tickets, first page of 50):")
            print(f"{'query':<10} {'sort':<10} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'CPU ms/req':>10} rows")
            for sort in options.sorts.split(","):
                for kind, (query, _found) in picked.items():
                    text = query if sort == "newest" else f"{query} sort:{sort}"
                    for _ in range(3):
                        assert client.get("/v1/tickets", params={"query": text}).status_code == 200
                    samples: list[float] = []
                    cpu_before = server.cpu_seconds()
                    rows = 0
                    runs = options.runs if sort == "newest" or picked[kind][1] < 1000 else max(5, options.runs // 6)
                    for _ in range(runs):
                        started = time.perf_counter()
                        answer = client.get("/v1/tickets", params={"query": text})
                        samples.append(1000 * (time.perf_counter() - started))
                        assert answer.status_code == 200, answer.text
                        rows = len(answer.json()["tickets"])
                    cpu = 1000 * (server.cpu_seconds() - cpu_before) / runs
                    print(
                        f"{kind:<10} {sort:<10} {statistics.median(samples):8.1f} {percentile(samples, 0.95):8.1f} "
                        f"{max(samples):8.1f} {cpu:10.1f} {rows}",
                        flush=True,
                    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
