"""The console following a real team server (``supportdesk serve`` on 127.0.0.1): the sync state
in the status bar, other agents' presence, changes pulled while a ticket is open, and what the
server refuses or warns about after the console was offline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from supportdesk.config import load_settings
from supportdesk.domain.context import SYSTEM, Actor, Role
from supportdesk.server.apply import apply_as
from supportdesk.sync.client import ServerClient
from supportdesk.sync.profiles import Profile, save_profile, store_token
from supportdesk.sync.service import SyncService
from supportdesk.tui.app import SupportDeskApp
from supportdesk.tui.screens.ticket import TicketScreen
from tests.live import Deployment, Replica
from tests.tui.conftest import until


def follow(deployment: Deployment, who: str) -> Replica:
    """A bootstrapped workspace for ``who`` whose profile and token the console finds on its own."""
    profile = Profile("test", deployment.server.url, f"{who}@acme.test", "file")
    save_profile(profile)
    store_token(profile, deployment.team.tokens[who])
    return deployment.replica(who)


def console(replica: Replica) -> SupportDeskApp:
    settings = load_settings(replica.workspace.root)
    return SupportDeskApp(
        replica.workspace, settings, poll_interval=0.1, warm_up=False, sync_interval=600, strict_reads=True
    )


def notified(app: SupportDeskApp, text: str) -> Callable[[], bool]:
    def seen() -> bool:
        return any(text in str(n.message) for n in app._notifications)

    seen.__name__ = f"a notification saying {text!r}"
    return seen


def background(deployment: Deployment, who: str) -> tuple[Replica, SyncService]:
    """Another agent's console, as far as the server can tell: a workspace and its sync service."""
    replica = deployment.replica(who)
    url, token = deployment.server.url, deployment.team.tokens[who]
    service = SyncService(
        replica.workspace, interval=600, max_backoff=0.5, client_factory=lambda: ServerClient(url, token, timeout=5)
    )
    service.start()
    return replica, service


def server_write(deployment: Deployment, actor: Actor, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """A change made on the server behind the clients' backs (no poke: nobody pulls it yet)."""
    result, _warnings = apply_as(deployment.team.db, actor, name, args)
    return result


async def test_the_console_syncs_shows_presence_and_brings_refusals_back(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    created = server_write(
        deployment,
        SYSTEM,
        "ticket.create",
        {
            "subject": "Printer on fire",
            "body": "It is on fire.",
            "requester": {"value": "pat@example.com", "name": "Pat"},
            "group_id": deployment.team.tier1,
        },
    )
    ticket_id = created["ticket_id"]
    sam = follow(deployment, "sam")
    tom_workspace, tom = background(deployment, "tom")
    tom_actor = Actor(
        id=deployment.team.ids["tom"],
        name="Tom Agent",
        email="tom@acme.test",
        role=Role.AGENT,
        group_ids=frozenset({deployment.team.tier1}),
    )
    app = console(sam)
    try:
        async with app.run_test(size=(150, 40)) as pilot:
            await until(pilot, lambda: app.sync_status.connection == "online", timeout=30)
            bar = app.screen.query_one("#status-sync")
            await until(pilot, lambda: str(bar.render()) == "online")

            app.push_screen(app.ticket_screen(ticket_id))
            await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
            screen = app.screen
            assert isinstance(screen, TicketScreen)
            header = screen.query_one("#ticket-header")

            # presence both ways: Sam's console says "viewing", Tom types in the same ticket
            await until(pilot, lambda: [v.agent_name for v in tom.viewers(ticket_id)] == ["Sam Agent"], timeout=20)
            assert tom.viewers(ticket_id)[0].state == "viewing"
            tom.set_presence(ticket_id, "typing")
            await until(pilot, lambda: app.presence.get(ticket_id) == ["Tom Agent (typing)"], timeout=20)
            await until(pilot, lambda: "Tom Agent (typing)" in str(header.render()))
            await pilot.press("r", *"hello")
            await until(pilot, lambda: [v.state for v in tom.viewers(ticket_id)] == ["typing"], timeout=20)
            await pilot.press("escape")
            tom.set_presence(ticket_id, "left")
            await until(pilot, lambda: ticket_id not in app.presence, timeout=20)
            await until(pilot, lambda: "Tom Agent" not in str(header.render()))

            # a change another agent pushes shows in the open ticket (poke → pull → data_version)
            tom_workspace.apply("ticket.note", {"ticket_id": ticket_id, "body": "I called them"})
            tom.sync_now()
            await until(pilot, lambda: any(b.entry.body == "I called them" for b in screen.timeline.blocks), timeout=20)

            # offline: the reply waits in the outbox and the bar says so
            deployment.server.kill()
            await until(pilot, lambda: app.sync_status.connection == "offline", timeout=30)
            await pilot.press("r")
            screen.composer.text_area.load_text("We are on our way.")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not screen.composer.is_open)
            await until(pilot, lambda: app.sync_status.pending == 1)
            await until(pilot, lambda: str(bar.render()).startswith("offline · 1 pending"))
            await pilot.press("p")
            await pilot.press(*"urgent", "enter")
            await until(pilot, lambda: app.sync_status.pending == 2)

            # meanwhile the customer wrote again and Tom raised the priority
            server_write(deployment, SYSTEM, "ticket.receive", {"ticket_id": ticket_id, "body": "Now it smokes."})
            server_write(deployment, tom_actor, "ticket.set_priority", {"ticket_id": ticket_id, "priority": "high"})
            deployment.server.start()
            await until(pilot, lambda: app.sync_status.connection == "online" and app.sync_status.pending == 0, 60)
            await until(pilot, notified(app, "a newer message from the customer arrived"))
            await until(pilot, notified(app, "is back in its draft"))
            await until(pilot, notified(app, "priority of ticket #1 was changed meanwhile by Tom Agent to high"))
            await until(pilot, lambda: any(b.entry.body == "Now it smokes." for b in screen.timeline.blocks))
            assert not any(b.entry.body == "We are on our way." for b in screen.timeline.blocks)
            await until(pilot, lambda: "unsent draft: reply" in str(screen.query_one("#status-context").render()))
            await pilot.press("r")
            assert screen.composer.text == "We are on our way."
            assert sam.rows("SELECT priority FROM ticket WHERE id = ?", ticket_id) == [("urgent",)]
            assert [v.agent_name for v in tom.viewers(ticket_id)] == ["Sam Agent"]
        # quitting said goodbye
        deadline = time.monotonic() + 20
        while tom.viewers(ticket_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tom.viewers(ticket_id) == []
    finally:
        tom.stop()
        tom_workspace.close()
        sam.close()


async def test_an_admin_is_told_of_a_disabled_webhook_endpoint_on_connect(sqlite_deployment: Deployment) -> None:
    """The notice arrives with the first round after connecting (once, however many rounds
    follow), the status bar counts it, and it goes when an admin enables the endpoint."""
    from supportdesk.server.webhooks import enable_endpoint
    from tests.sync.test_notices import _disable

    deployment = sqlite_deployment
    endpoint_id = _disable(deployment, "https://hooks.example.com/desk")
    ada = follow(deployment, "ada")
    app = console(ada)
    try:
        async with app.run_test(size=(150, 40)) as pilot:
            await until(pilot, notified(app, f"webhook endpoint {endpoint_id} (https://hooks.example.com/desk)"), 30)
            bar = app.screen.query_one("#status-sync")
            await until(pilot, lambda: str(bar.render()) == "online · 1 admin notice")
            rounds = app.sync_link._round
            app.sync_link.push_soon()
            await until(pilot, lambda: app.sync_link._round != rounds, timeout=30)
            shown = [n for n in app._notifications if endpoint_id in str(n.message)]
            assert len(shown) == 1  # once per session, not once per round
            with deployment.team.db.engine.connect() as connection, connection.begin():
                enable_endpoint(connection, endpoint_id)
            app.sync_link.push_soon()
            await until(pilot, lambda: str(bar.render()) == "online", timeout=30)
    finally:
        ada.close()
