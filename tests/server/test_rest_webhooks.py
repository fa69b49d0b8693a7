"""Outgoing webhooks from a real server to a real receiver on 127.0.0.1: signed deliveries with
event ids, in order per ticket, retried after failures, replayed, and only a group's endpoints
told about its tickets."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson

from supportdesk.store.times import utcnow
from tests.cli.helpers import supportdesk
from tests.live import Deployment, deploy


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return dict(orjson.loads(self.body))


@dataclass
class Receiver:
    """An HTTP endpoint that records every POST and answers ``statuses`` in turn (then 200)."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Received) -> int:
        with self.lock:
            self.received.append(request)
            return self.statuses.pop(0) if self.statuses else 200

    def delivered(self) -> list[Received]:
        """What was answered 2xx (the first ``len(statuses)`` requests were refused)."""
        with self.lock:
            return list(self.received)

    def wait_for(self, condition: Callable[[list[Received]], bool], timeout: float = 90) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = self.delivered()
            if condition(seen):
                return seen
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {[r.event['type'] for r in self.delivered()]}")


@contextmanager
def receiver(statuses: list[int] | None = None) -> Iterator[Receiver]:
    state = Receiver(statuses=list(statuses or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = state.answer(Received({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def verify(secret: str, request: Received, tolerance: float = 600) -> bool:
    """What a receiver does: recompute the signature over ``t.body`` and compare in constant time."""
    parts = dict(item.split("=", 1) for item in request.headers["supportdesk-signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + request.body, hashlib.sha256).hexdigest()
    # the servers of the suite run on the suite's calendar (SUPPORTDESK_NOW), so "now" is utcnow()
    return hmac.compare_digest(expected, parts["v1"]) and abs(utcnow().timestamp() - int(parts["t"])) < tolerance


ALL_EVENTS = ["ticket.created", "ticket.updated", "ticket.solved", "message.created", "feedback.received"]


def register(deployment: Deployment, url: str, events: list[str], groups: list[str] | None = None) -> str:
    with deployment.api("ada") as admin:
        answer = admin.post("/v1/admin/webhooks", json={"url": url, "events": events, "groups": groups})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["secret"])


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_events_are_signed_and_arrive_in_order_per_ticket(deployment: Deployment) -> None:
    with receiver() as hook:
        secret = register(deployment, hook.url, ALL_EVENTS)
        with deployment.api("sam") as client:
            body = {"subject": "Secret subject", "body": "Private words", "requester": {"email": "eve@example.com"}}
            created = client.post("/v1/tickets", json={**body, "group": "Tier 1"}, headers=key()).json()
            number = created["number"]
            client.post(f"/v1/tickets/{number}/replies", json={"body": "Done."}, headers=key())
            client.patch(f"/v1/tickets/{number}", json={"status": "solved", "tags_add": ["refund"]})

        seen = hook.wait_for(lambda got: any(r.event["type"] == "ticket.solved" for r in got))
        types = [r.event["type"] for r in seen]
        assert types[:2] == ["ticket.created", "message.created"]
        assert types.index("ticket.solved") > types.index("ticket.updated", 3)
        assert all(verify(secret, request) for request in seen)
        assert not verify("whsec_other", seen[0])
        ids = [r.headers["supportdesk-event-id"] for r in seen]
        assert len(set(ids)) == len(ids) == len(seen)
        assert all(r.event["id"] == r.headers["supportdesk-event-id"] for r in seen)
        assert all(r.event["data"]["ticket"]["number"] == number for r in seen)
        # thin events: no subject, no message text, no customer's name or address
        assert all(b"Secret subject" not in r.body and b"Private words" not in r.body for r in seen)
        assert all(b"eve@example.com" not in r.body for r in seen)
        # one event per mutation, as the console makes them: the PATCH's tags, then its status
        changes = [r.event["data"]["changes"] for r in seen if r.event["type"] == "ticket.updated"]
        assert changes[-2] == ["tags"] and changes[-1] == ["assignee_id", "solved_at", "status"]  # solving assigns
        reply = [r.event["data"]["message"] for r in seen if r.event["type"] == "message.created"][1]
        assert reply["public"] is True and reply["author_kind"] == "agent"


def test_failed_deliveries_are_retried_in_order_and_can_be_replayed(tmp_path: Path) -> None:
    with receiver(statuses=[500, 503]) as hook, deploy("sqlite", tmp_path, extra=["--webhook-retry", "0.2"]) as running:
        secret = register(running, hook.url, ["ticket.created", "message.created"])
        with running.api("sam") as client:
            body = {"subject": "Flaky receiver", "body": "x", "requester": {"email": "f@example.com"}}
            number = client.post("/v1/tickets", json={**body, "group": "Tier 1"}).json()["number"]
            client.post(f"/v1/tickets/{number}/notes", json={"body": "second"})

        seen = hook.wait_for(lambda got: len(got) >= 5)  # created ×3 (two refused), its message, the note
        order = [r.headers["supportdesk-event-id"] for r in seen]
        first = order[0]
        assert order[:3] == [first, first, first]  # the same event id on every retry
        assert [r.event["type"] for r in seen[2:5]] == ["ticket.created", "message.created", "message.created"]
        assert all(verify(secret, request) for request in seen)

        with running.api("ada") as admin:
            listed = admin.get("/v1/admin/webhooks/deliveries", params={"limit": 10}).json()["deliveries"]
            created = next(d for d in listed if d["type"] == "ticket.created")
            assert created["status"] == "delivered" and created["attempts"] == 3 and created["last_status"] == 200
            assert created["ticket_number"] == number
            replayed = admin.post(f"/v1/admin/webhooks/deliveries/{created['id']}/replay")
            assert replayed.status_code == 201
            assert admin.post(f"/v1/admin/webhooks/deliveries/{uuid.uuid4()}/replay").status_code == 404
        again = hook.wait_for(lambda got: len(got) >= 6)
        assert again[5].headers["supportdesk-event-id"] == first

        # the CLI sees the same deliveries
        cli = supportdesk("server", "webhook", "deliveries", "--status", "delivered", "--db", running.server.db)
        assert cli.returncode == 0 and cli.stdout.count("delivered") >= 4


def test_an_endpoint_restricted_to_a_group_hears_only_its_tickets(tmp_path: Path) -> None:
    with receiver() as billing_hook, receiver() as all_hook, deploy("sqlite", tmp_path) as running:
        db = running.server.db
        added = supportdesk(
            "server", "webhook", "add", billing_hook.url, "--events", "ticket.created", "--group", "Billing", "--db", db
        )
        assert added.returncode == 0, added.stderr
        assert added.stdout.strip().startswith("whsec_")
        register(running, all_hook.url, ["ticket.created"])
        with running.api("ada") as client:
            body = {"body": "x", "requester": {"email": "g@example.com"}}
            tier1 = client.post("/v1/tickets", json={**body, "subject": "T1", "group": "Tier 1"}).json()
            billing = client.post("/v1/tickets", json={**body, "subject": "B", "group": "Billing"}).json()
            nogroup = client.post("/v1/tickets", json={**body, "subject": "N"}).json()

        everything = all_hook.wait_for(lambda got: len(got) >= 3)
        got = billing_hook.wait_for(lambda got: len(got) >= 2)
        numbers = {r.event["data"]["ticket"]["number"] for r in got}
        assert numbers == {billing["number"], nogroup["number"]}
        assert tier1["number"] in {r.event["data"]["ticket"]["number"] for r in everything}

        # bad registrations are one clear line
        for args, message in (
            (["ftp://x.test/hook", "--events", "ticket.created"], "is not an http(s) URL"),
            (["https://u:p@x.test/hook", "--events", "ticket.created"], "no credentials in the URL"),
            (["https://x.test/hook", "--events", "ticket.exploded"], "unknown event 'ticket.exploded'"),
        ):
            refused = supportdesk("server", "webhook", "add", *args, "--db", db)
            assert refused.returncode == 2 and message in refused.stderr
        with running.api("sam") as agent:
            assert (
                agent.post("/v1/admin/webhooks", json={"url": all_hook.url, "events": ["ticket.created"]}).status_code
                == 403
            )
        listed = supportdesk("server", "webhook", "list", "--db", db)
        assert billing_hook.url in listed.stdout and "whsec_" not in listed.stdout


def test_an_endpoint_that_fails_for_a_day_gives_up_and_is_disabled(tmp_path: Path, clock: Any, caplog: Any) -> None:
    """The sender's rounds driven by hand on the suite's clock: a refused connection is retried
    with a doubling wait, the delivery is given up after 24 hours and its endpoint disabled."""

    import httpx

    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as
    from supportdesk.server.webhook_sender import admin_notices, deliver_due
    from supportdesk.server.webhooks import (
        add_endpoint,
        enable_endpoint,
        list_deliveries,
        list_endpoints,
        record_events,
    )
    from tests.live import free_port, make_team

    team = make_team(str(tmp_path / "server.db"))
    clock.freeze()
    caplog.set_level("ERROR", logger="supportdesk")
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there: every attempt is refused
    with team.db.engine.connect() as connection, connection.begin():
        endpoint_id, _ = add_endpoint(connection, dead, ["ticket.created"])
    args = {"subject": "S", "body": "B", "requester": {"value": "h@example.com"}}
    apply_as(team.db, SYSTEM, "ticket.create", args, after_write=[record_events])

    waits = []
    with httpx.Client(timeout=5) as client:
        assert deliver_due(team.db, client, base=10) == 1
        assert deliver_due(team.db, client, base=10) == 0  # not due again yet
        for _ in range(40):
            with team.db.engine.connect() as connection:
                (delivery,) = list_deliveries(connection)
            if delivery["status"] != "pending":
                break
            due = datetime_of(delivery["next_attempt_at"])
            waits.append((due - clock()).total_seconds())
            clock.advance(due - clock())
            assert deliver_due(team.db, client, base=10) == 1
    assert waits[:4] == [10, 20, 40, 80] and max(waits) == 3600  # doubling, at most an hour
    assert delivery["status"] == "failed" and delivery["last_status"] is None
    assert "ConnectError" in delivery["last_error"]
    with team.db.engine.connect() as connection:
        (endpoint,) = list_endpoints(connection)
    assert endpoint["id"] == endpoint_id and endpoint["active"] is False
    assert "failed for 24 hours" in endpoint["disabled_reason"]
    # the admins are told: an error in the server log, and a notice until it is enabled again
    told = [r for r in caplog.records if r.levelname == "ERROR" and endpoint_id in r.getMessage()]
    assert len(told) == 1 and f"webhook enable {endpoint_id}" in told[0].getMessage()
    with team.db.engine.connect() as connection:
        (notice,) = admin_notices(connection)
    assert notice["kind"] == "webhook_disabled" and notice["endpoint_id"] == endpoint_id and notice["url"] == dead
    with team.db.engine.connect() as connection, connection.begin():
        enable_endpoint(connection, endpoint_id)
    with team.db.engine.connect() as connection:
        assert admin_notices(connection) == []
    team.db.dispose()


def datetime_of(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))
