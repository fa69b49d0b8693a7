"""The channel service as the server will run it: listener and worker thread, started and stopped."""

from __future__ import annotations

import smtplib
import time
from dataclasses import replace
from typing import Any

import pytest

from supportdesk.channels.service import ChannelService
from supportdesk.channels.settings import ChannelSettings, RelayURL
from tests.channels.conftest import make_mail
from tests.channels.smtp_helpers import RecordingRelay, free_port, relay
from tests.conftest import Team


@pytest.mark.integration  # a real SMTP listener and relay
def test_the_service_receives_and_its_worker_delivers(team: Team, settings: ChannelSettings, applier: Any) -> None:
    recorder = RecordingRelay()
    with relay(recorder) as relay_port:
        live = replace(settings, relay=RelayURL("127.0.0.1", relay_port), webhooks={})
        service = ChannelService(team.workspace.engine, applier, live)
        smtp_port = free_port()
        service.start(smtp_port=smtp_port, interval=0.1)
        try:
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
                client.sendmail("alice@example.com", ["support@acme.test"], make_mail())
            deadline = time.monotonic() + 20
            while not recorder.received and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            service.stop()
    [auto_reply] = recorder.received
    assert auto_reply.message["Auto-Submitted"] == "auto-replied"
    assert auto_reply.rcpt_tos == ["alice@example.com"]


def test_without_relay_or_outbound_urls_there_is_no_worker(team: Team, settings: ChannelSettings, applier: Any) -> None:
    service = ChannelService(team.workspace.engine, applier, replace(settings, webhooks={}))
    assert service.senders() == {}
    service.start()
    assert service.worker is None
    service.stop()
