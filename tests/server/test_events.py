"""Live events over SSE, and their fan-out between server processes through LISTEN/NOTIFY."""

from __future__ import annotations

import queue
import threading
from typing import Any

import httpx

from supportdesk.sync.client import ServerClient
from tests.live import Deployment, LiveServer


def listen(url: str, token: str, events: queue.Queue[tuple[str, dict[str, Any]]], stop: threading.Event) -> None:
    client = ServerClient(url, token)
    try:
        for event in client.events(read_timeout=5):
            events.put(event)
            if stop.is_set():
                return
    except Exception as error:
        events.put(("error", {"error": str(error)}))
    finally:
        client.close()


def next_event(events: queue.Queue[tuple[str, dict[str, Any]]], kind: str) -> dict[str, Any]:
    while True:
        event, data = events.get(timeout=15)
        if event == kind:
            return data
        assert event != "error", data


def push_note_ticket(url: str, token: str) -> int:
    body = {
        "client_id": "events-client",
        "schema_version": 1,
        "mutations": [
            {
                "id": 1,
                "name": "ticket.create",
                "args": {"subject": "Hi", "body": "there", "requester": {"value": "e@example.com"}},
            }
        ],
    }
    response = httpx.post(f"{url}/v1/push", json=body, headers={"Authorization": f"Bearer {token}"})
    return int(response.json()["results"][0]["seq"])


def test_sse_sends_hello_keepalives_and_a_poke_per_push(deployment: Deployment) -> None:
    events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
    stop = threading.Event()
    threading.Thread(
        target=listen, args=(deployment.server.url, deployment.team.tokens["tom"], events, stop), daemon=True
    ).start()
    next_event(events, "hello")
    next_event(events, "keep-alive")
    seq = push_note_ticket(deployment.server.url, deployment.team.tokens["sam"])
    assert next_event(events, "poke") == {"seq": seq}
    stop.set()


def test_pokes_fan_out_between_server_processes_on_postgresql(pg_deployment: Deployment) -> None:
    second = LiveServer(pg_deployment.server.db, pg_deployment.tmp_path).start()
    try:
        events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        stop = threading.Event()
        threading.Thread(
            target=listen, args=(second.url, pg_deployment.team.tokens["tom"], events, stop), daemon=True
        ).start()
        next_event(events, "hello")
        seq = push_note_ticket(pg_deployment.server.url, pg_deployment.team.tokens["sam"])
        assert next_event(events, "poke") == {"seq": seq}
        stop.set()
    finally:
        second.stop()
