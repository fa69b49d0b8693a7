"""Every registered webhook channel is known everywhere a channel must be known — ingest, the
settings, the outbox, the senders and the server's endpoint — and an unregistered one nowhere.

Before the registry a channel's name lived in four lists; forgetting one of them silently dropped
that channel's replies. These tests walk the registry itself, so a new channel is covered the
moment its registration line exists, with nothing to add here."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from supportdesk.channels import webhooks
from supportdesk.channels.errors import PayloadInvalid
from supportdesk.channels.outbound import queue_replies
from supportdesk.channels.service import ChannelService
from supportdesk.channels.settings import ChannelSettings, WebhookSettings
from supportdesk.channels.signing import sign_webhook, verify_webhook
from supportdesk.channels.webhook_ingest import WebhookIngest
from supportdesk.config import ConfigError
from supportdesk.store import reads
from supportdesk.store.enums import Channel
from supportdesk.store.times import utcnow
from tests.channels.conftest import Applier
from tests.channels.server_helpers import ChannelServer, channel_server, wait_for
from tests.conftest import Team

REGISTERED = [channel.name for channel in webhooks.CHANNELS]


def secret_of(name: str) -> str:
    return f"{name}-inbound-secret"


def all_hooks(url: str) -> dict[str, WebhookSettings]:
    return {
        name: WebhookSettings(secret=secret_of(name), outbound_url=f"{url}/{name}", outbound_secret=f"{name}-out")
        for name in REGISTERED
    }


def test_the_registry_is_one_list_of_distinct_well_formed_channels() -> None:
    assert REGISTERED == ["chat", "webform", "social", "sms"]
    assert len(set(REGISTERED)) == len(REGISTERED)
    assert list(webhooks.REGISTERED) == REGISTERED, "each channel is named as its module"
    for channel in webhooks.CHANNELS:
        assert channel.name.isidentifier() and channel.name != "email" and len(channel.name) <= 20
        assert isinstance(channel.message_channel, Channel) and channel.message_channel != Channel.EMAIL
        assert webhooks.get(channel.name) is channel
        channel.parse(json.dumps(channel.example).encode())  # its documented example is valid
    assert webhooks.get("fax") is None and webhooks.get("email") is None


@pytest.mark.parametrize("name", REGISTERED)
def test_a_registered_channel_is_known_to_the_settings(name: str, tmp_path: Path) -> None:
    settings = ChannelSettings.from_section(
        {"secret": "a-long-enough-secret", "webhooks": {name: {"secret": "s", "outbound_url": "https://x.test/r"}}},
        attachments_dir=tmp_path,
    )
    hook = settings.webhook(name)
    assert hook is not None and hook.outbound_url == "https://x.test/r"
    with pytest.raises(ConfigError, match=f"the webhook channels are {', '.join(REGISTERED)}"):
        ChannelSettings.from_section(
            {"secret": "a-long-enough-secret", "webhooks": {f"{name}2": {"secret": "s"}}}, attachments_dir=tmp_path
        )


@pytest.mark.parametrize("name", REGISTERED)
def test_a_registered_channel_ingests_queues_its_replies_and_has_a_sender(
    name: str, team: Team, settings: ChannelSettings, applier: Applier
) -> None:
    configured = replace(settings, webhooks=all_hooks("http://127.0.0.1:9"))
    channel = webhooks.get(name)
    assert channel is not None
    body = json.dumps(channel.example).encode()
    hooks = WebhookIngest(team.workspace.engine, applier, configured)
    with pytest.raises(PayloadInvalid):  # another channel's name is no way in
        hooks.handle(f"{name}x", body, sign_webhook(secret_of(name), body))

    outcome = hooks.handle(name, body, sign_webhook(secret_of(name), body))
    assert outcome.created and outcome.ticket_id is not None and outcome.channel == name
    with team.workspace.reading() as connection:
        detail = reads.ticket_detail(connection, outcome.ticket_id)
    assert detail is not None and detail.ticket["channel"] == channel.message_channel.value

    answer = team.as_(team.agent, "ticket.reply", {"ticket_id": outcome.ticket_id, "body": "We are on it."})
    with team.workspace.engine.begin() as connection:
        queued = queue_replies(connection, [answer.result["message_id"]], configured, now=utcnow())
        row = connection.exec_driver_sql("SELECT channel, recipient, status FROM channel_outbox").one()
    assert queued == [f"{name}:{answer.result['message_id']}"]
    assert tuple(row) == (name, f"http://127.0.0.1:9/{name}", "queued")

    service = ChannelService(team.workspace.engine, applier, configured)
    try:
        assert name in service.senders()
    finally:
        service.stop()


def every_hook(receiver_url: str) -> dict[str, dict[str, Any]]:
    return {
        name: {"secret": secret_of(name), "outbound_url": f"{receiver_url}/{name}", "outbound_secret": f"{name}-out"}
        for name in REGISTERED
    }


def post(running: ChannelServer, name: str, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **sign_webhook(secret_of(name), body)}
    with running.deployment.api(None) as client:
        return client.post(f"/v1/channels/{name}", content=body, headers=headers)


@pytest.mark.integration
def test_every_registered_channel_round_trips_through_the_server(tmp_path: Path) -> None:
    """Each example posted to its endpoint opens a ticket; an agent's reply to each, pushed by
    sync, reaches that channel's outbound URL once, signed with that channel's secret."""
    with channel_server("sqlite", tmp_path, webhooks=every_hook) as running:
        opened: dict[str, str] = {}
        for channel in webhooks.CHANNELS:
            answer = post(running, channel.name, channel.example)
            assert answer.status_code == 200, answer.text
            opened[channel.name] = answer.json()["ticket_id"]
        unknown = post(running, "fax", {"x": 1})
        assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "channel"

        sam = running.deployment.replica("sam")
        try:
            for name, ticket_id in opened.items():
                sam.apply("ticket.reply", {"ticket_id": ticket_id, "body": f"Reply on {name}."})
            assert sam.sync().pushed == len(opened)
        finally:
            sam.close()
        requests = wait_for(
            lambda: running.receiver.requests if len(running.receiver.requests) >= len(opened) else None,
            "a reply at every channel's outbound URL",
        )
    by_path = {request["path"]: request for request in requests}
    assert sorted(by_path) == sorted(f"/reply/{name}" for name in REGISTERED)
    for name in REGISTERED:
        request = by_path[f"/reply/{name}"]
        verify_webhook(f"{name}-out", request["headers"], request["body"])
        sent = json.loads(request["body"])
        assert (sent["channel"], sent["text"], sent["ticket_id"]) == (name, f"Reply on {name}.", opened[name])
