"""``GET /metrics``: what an operator's Prometheus scrapes, in its text format.

Per process (labelled ``worker`` with the process id, because with ``--workers N`` a scrape
reaches whichever process the kernel hands the connection to, and counters of different
processes must not read as one counter that keeps resetting): requests by route template and
status, their durations, push latency, committed mutations by name and source, after-commit
steps that failed, open event streams, the connection pool. For the whole database: the channel
outbox and the webhook deliveries waiting, and whether a process holds the receivers' lock
(:mod:`.leader`).

What a label may hold is fixed by our code, never by a request: the route *template*
(``/v1/tickets/{ticket_id}``, not the path with a customer's ticket id in it; ``unmatched`` for a
path no route has), one of the HTTP methods (``other`` for anything else), the status code, a
mutation's catalog name. So a scrape shows no customer data, and a caller cannot grow the series
without bound.

Who may scrape: a request whose bearer token is the ``SUPPORTDESK_METRICS_TOKEN`` the server was
started with (compared in constant time), or an admin's API token. Nothing is open to an
address: behind a reverse proxy on the same host every request comes from 127.0.0.1.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

if TYPE_CHECKING:
    from collections.abc import Callable

    from fastapi import FastAPI

    from supportdesk.server.apply import Applied
    from supportdesk.server.db import ServerDatabase
    from supportdesk.server.state import ServerState

TOKEN_VARIABLE = "SUPPORTDESK_METRICS_TOKEN"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
PUSH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STREAM_ROUTES = frozenset({"/v1/events"})

router = APIRouter(include_in_schema=False)


class Metrics:
    """This process's counters (thread-safe: sync routes run in a thread pool)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.time()  # a timestamp for Prometheus, not "now" for the product
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.durations: dict[str, tuple[int, float]] = {}
        self.push_buckets = [0] * (len(PUSH_BUCKETS) + 1)
        self.push_sum = 0.0
        self.mutations: dict[tuple[str, str], int] = defaultdict(int)

    def record_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"
        with self._lock:
            self.requests[(method, route, status)] += 1
            if route not in STREAM_ROUTES:
                count, total = self.durations.get(route, (0, 0.0))
                self.durations[route] = (count + 1, total + seconds)
            if route == "/v1/push" and method == "POST":
                self.push_sum += seconds
                for index, bound in enumerate(PUSH_BUCKETS):
                    if seconds <= bound:
                        self.push_buckets[index] += 1
                        break
                else:
                    self.push_buckets[-1] += 1

    def after_commit(self, _database: ServerDatabase, applied: Applied) -> None:
        """Count a committed mutation by its name and where it came from (a hook, see app.py)."""
        ref = applied.ref
        source = "rest" if ref.startswith("api:") else "server" if ref.startswith("server:") else "push"
        with self._lock:
            self.mutations[(applied.name or "unknown", source)] += 1


def install(app: FastAPI, state: ServerState) -> Metrics:
    """Count requests and commits in ``app`` and serve ``/metrics``."""
    metrics = Metrics()
    state.extensions["metrics"] = metrics
    state.after_commit.append(metrics.after_commit)
    app.include_router(router)  # the requests are counted by request_log.RequestLog, with their line
    return metrics


def _allowed(request: Request) -> None:
    """A scrape with the metrics token, or an admin's token; anything else is refused."""
    from supportdesk.server.auth import full_caller, require_admin

    expected = os.environ.get(TOKEN_VARIABLE, "")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if expected and scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode()):
        return
    require_admin(full_caller(request))


@router.get("/metrics", response_class=PlainTextResponse)
def metrics_text(request: Request) -> PlainTextResponse:
    """The Prometheus text exposition of this process and of the database's queues."""
    _allowed(request)
    state: ServerState = request.app.state.server
    metrics: Metrics = state.extensions["metrics"]
    return PlainTextResponse(render(state, metrics), media_type="text/plain; version=0.0.4; charset=utf-8")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**pairs: Any) -> str:
    return "{" + ",".join(f'{name}="{_label(str(value))}"' for name, value in pairs.items()) + "}"


def render(state: ServerState, metrics: Metrics) -> str:
    from supportdesk.server.hook_failures import counts as after_commit_failures

    worker = str(os.getpid())
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")

    family("supportdesk_process_start_time_seconds", "gauge", "When this server process started (Unix time).")
    lines.append(f"supportdesk_process_start_time_seconds{_labels(worker=worker)} {metrics.started:.3f}")
    with metrics._lock:
        requests = sorted(metrics.requests.items())
        durations = sorted(metrics.durations.items())
        buckets, push_sum = list(metrics.push_buckets), metrics.push_sum
        mutations = sorted(metrics.mutations.items())
    family(
        "supportdesk_http_requests_total", "counter", "HTTP requests answered, by method, route template and status."
    )
    for (method, route, status), count in requests:
        labels = _labels(worker=worker, method=method, route=route, status=status)
        lines.append(f"supportdesk_http_requests_total{labels} {count}")
    family("supportdesk_http_request_duration_seconds", "summary", "Time to answer, by route (event streams left out).")
    for route, (count, total) in durations:
        labels = _labels(worker=worker, route=route)
        lines.append(f"supportdesk_http_request_duration_seconds_sum{labels} {total:.6f}")
        lines.append(f"supportdesk_http_request_duration_seconds_count{labels} {count}")
    family("supportdesk_push_duration_seconds", "histogram", "Time to answer POST /v1/push.")
    cumulative = 0
    for bound, count in zip((*PUSH_BUCKETS, "+Inf"), buckets, strict=True):
        cumulative += count
        lines.append(f"supportdesk_push_duration_seconds_bucket{_labels(worker=worker, le=bound)} {cumulative}")
    lines.append(f"supportdesk_push_duration_seconds_sum{_labels(worker=worker)} {push_sum:.6f}")
    lines.append(f"supportdesk_push_duration_seconds_count{_labels(worker=worker)} {cumulative}")
    family("supportdesk_mutations_total", "counter", "Mutations committed, by name and source (push, rest, server).")
    for (name, source), count in mutations:
        lines.append(f"supportdesk_mutations_total{_labels(worker=worker, mutation=name, source=source)} {count}")
    family(
        "supportdesk_after_commit_failures_total",
        "counter",
        "After-commit steps that raised (logged at ERROR; the write had committed and was answered), by step.",
    )
    for step, count in sorted(after_commit_failures().items()):
        lines.append(f"supportdesk_after_commit_failures_total{_labels(worker=worker, step=step)} {count}")
    family("supportdesk_event_streams_open", "gauge", "Event streams (SSE) this process holds open.")
    lines.append(f"supportdesk_event_streams_open{_labels(worker=worker)} {len(state.events.subscribers)}")
    lines.extend(_pool_lines(state, worker, family))
    lines.extend(_queue_lines(state, family))
    return "\n".join(lines) + "\n"


def _pool_lines(state: ServerState, worker: str, family: Callable[[str, str, str], None]) -> list[str]:
    pool = state.database.engine.pool
    found: list[str] = []
    size = getattr(pool, "size", None)
    checked_out = getattr(pool, "checkedout", None)
    if callable(size) and callable(checked_out):
        family("supportdesk_db_pool_size", "gauge", "Connections this process's pool keeps open.")
        found.append(f"supportdesk_db_pool_size{_labels(worker=worker)} {size()}")
        family("supportdesk_db_pool_in_use", "gauge", "Connections of this process's pool lent out now.")
        found.append(f"supportdesk_db_pool_in_use{_labels(worker=worker)} {checked_out()}")
    return found


def _queue_lines(state: ServerState, family: Callable[[str, str, str], None]) -> list[str]:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from supportdesk.server.leader import RECEIVERS_LOCK

    database = state.database
    try:
        with database.read_engine.connect() as connection:
            outbox = connection.execute(
                text(
                    "SELECT status, COUNT(*) FROM channel_outbox WHERE status IN ('queued', 'sending') GROUP BY status"
                )
            ).all()
            webhooks = connection.execute(
                text("SELECT COUNT(*) FROM webhook_delivery WHERE status = 'pending'")
            ).scalar_one()
            leader = 1
            if database.is_postgres:
                leader = connection.execute(
                    text(
                        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND classid = 0 AND objid = :objid AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                    ),
                    {"objid": RECEIVERS_LOCK},  # a bigint key below 2**32: pg_locks shows it as objid
                ).scalar_one()
    except SQLAlchemyError:
        family("supportdesk_database_up", "gauge", "Whether this process could read the queues just now.")
        return ["supportdesk_database_up 0"]
    counts = {status: int(count) for status, count in outbox}
    found = []
    family("supportdesk_database_up", "gauge", "Whether this process could read the queues just now.")
    found.append("supportdesk_database_up 1")
    family("supportdesk_outbox_messages", "gauge", "Channel messages (mail, chat) waiting to be sent, by status.")
    for status in ("queued", "sending"):
        found.append(f"supportdesk_outbox_messages{_labels(status=status)} {counts.get(status, 0)}")
    family("supportdesk_webhook_deliveries_pending", "gauge", "Webhook deliveries not yet delivered or given up.")
    found.append(f"supportdesk_webhook_deliveries_pending {int(webhooks)}")
    family(
        "supportdesk_receivers_leader",
        "gauge",
        "1 when a server process holds the receivers' lock (SMTP, IMAP), else 0.",
    )
    found.append(f"supportdesk_receivers_leader {min(1, int(leader))}")
    return found
