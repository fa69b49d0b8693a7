"""The timeline says how each message came in: a mail's real sender, its threading and what to
distrust about it, attachments, a social post's network and handle, a call's details, a
survey answer and a rule's automatic reply — from real ingest, shown as plain text."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.settings import ChannelSettings
from supportdesk.channels.webhook_ingest import WebhookIngest
from supportdesk.channels.webhooks.social import CHANNEL as SOCIAL
from supportdesk.channels.webhooks.social import SocialPayload
from supportdesk.config import load_settings
from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store.ids import uuid7
from supportdesk.store.workspace import Workspace
from supportdesk.tui.app import SupportDeskApp
from supportdesk.tui.screens.ticket import TicketScreen
from supportdesk.tui.widgets.timeline import Block
from tests.conftest import Team
from tests.tui.conftest import AppFactory, settle, until

HOSTILE_NAME = "[@click=app.quit]x[bold.pdf"


def spoofed_mail() -> bytes:
    mail = EmailMessage()
    mail["From"] = "CEO <ceo@acme-corp.test>"
    mail["To"] = "support@acme.test"
    mail["Reply-To"] = "attacker@evil.test"
    mail["Subject"] = "Change my bank details"
    mail["Message-ID"] = "<spoof-1@acme-corp.test>"
    mail["Authentication-Results"] = "mx.acme.test; spf=pass smtp.mailfrom=acme-corp.test; dmarc=fail"
    mail.set_content("Please update my bank details.")
    mail.add_attachment(b"%PDF-1.4 not really", maintype="application", subtype="pdf", filename=HOSTILE_NAME)
    return mail.as_bytes()


def automatic_answer(number: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = "ceo@acme-corp.test"
    mail["To"] = "support@acme.test"
    mail["Subject"] = f"Out of office: Re: Change my bank details [#{number}]"
    mail["Auto-Submitted"] = "auto-replied"
    mail["Authentication-Results"] = "mx.acme.test; dmarc=pass header.from=acme-corp.test"
    mail.set_content("I am away until Monday.")
    return mail.as_bytes()


def lines(block: Block) -> list[tuple[str, str]]:
    return [line for line in block.lines if line[1] != "gap"]


async def open_ticket(pilot: Any, app: SupportDeskApp, ticket_id: str) -> TicketScreen:
    await settle(pilot)
    app.push_screen(app.ticket_screen(ticket_id))
    await until(pilot, lambda: isinstance(app.screen, TicketScreen) and app.screen.data is not None)
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, TicketScreen)
    return screen


async def test_mail_social_phone_and_rule_entries_say_where_they_came_from(team: Team) -> None:
    workspace = team.workspace
    settings = ChannelSettings(
        secret="console-channels-0123456789", attachments_dir=workspace.attachments_dir, authserv_ids=("mx.acme.test",)
    )

    def applier(name: str, args: dict[str, Any]) -> dict[str, Any]:
        return write.apply(workspace, name, args, actor=SYSTEM).result

    mail = MailIngest(workspace.engine, applier, settings)
    first = mail.ingest(spoofed_mail())
    assert first.ticket_id and first.number
    mail.ingest(automatic_answer(first.number))
    call = {"direction": "inbound", "number": "+49 30 1234567", "duration_seconds": 245, "notes": "Rang about it"}
    write.apply(workspace, "ticket.log_call", {"ticket_id": first.ticket_id, **call}, actor=team.agent)
    rule = {"ticket_id": first.ticket_id, "rule_id": uuid7(), "template": "We have your mail."}
    write.apply(workspace, "ticket.auto_reply", rule, actor=SYSTEM)
    post = SocialPayload(
        network="mastodon", thread_id="t-1", message_id="m-1", handle="pat", name="Pat", text="Is the app down?"
    )
    social = SOCIAL.ingest(WebhookIngest(workspace.engine, applier, settings), post)

    app = SupportDeskApp(workspace, load_settings(workspace.root), poll_interval=3600, warm_up=False, strict_reads=True)
    async with app.run_test(size=(150, 50)) as pilot:
        screen = await open_ticket(pilot, app, first.ticket_id)
        spoof, automatic, phone, auto_reply = screen.timeline.blocks
        assert lines(spoof)[0][0].startswith("← email · customer · CEO")
        assert lines(spoof)[1:] == [
            ("from CEO <ceo@acme-corp.test>", "meta"),
            ("⚠ Reply-To (attacker@evil.test) differs from From (ceo@acme-corp.test)", "warn"),
            ("⚠ DMARC check: fail", "warn"),
            ("⚠ authentication: fail", "warn"),
            (
                "new ticket: no trusted reference or tag · refused: the sender's address failed authentication: "
                "only a signed reference could thread it",
                "meta",
            ),
            ("Please update my bank details.", "body"),
            (f"📎 {HOSTILE_NAME} (19 bytes, application/pdf)", "meta"),
            ("  o open · w save · v preview", "fold"),
        ]
        assert ("threaded: ticket number in the subject, sent by the requester", "meta") in lines(automatic)
        assert ("⚠ automated mail (Auto-Submitted: auto-replied): no auto-reply sent", "warn") in lines(automatic)
        assert lines(phone)[0][0].startswith("← phone · phone call · Sam Agent · ")
        assert ("call inbound +49301234567 · 4:05", "meta") in lines(phone)
        assert " · auto-reply · " in lines(auto_reply)[0][0]
        assert ("sent automatically by a routing rule", "meta") in lines(auto_reply)
        # the hostile file name was drawn as text: the console is still here
        screen.timeline.focus()
        await pilot.press("home")
        await settle(pilot)
        assert app.is_running

        assert social.ticket_id is not None
        screen.switch_to(social.ticket_id)
        await until(pilot, lambda: screen.data is not None and screen.data.detail.ticket["channel"] == "social")
        await settle(pilot)
        assert ("mastodon @pat", "meta") in lines(screen.timeline.blocks[0])


async def test_a_survey_answer_is_an_entry_of_its_own(make_app: AppFactory, console_workspace: Workspace) -> None:
    with console_workspace.reading() as connection:
        ticket_id = connection.execute(
            "SELECT ticket_id FROM message WHERE json_extract(meta, '$.survey') IS NOT NULL "
            "AND json_extract(meta, '$.survey.csat') IS NOT NULL ORDER BY id LIMIT 1"
        ).fetchone()[0]
    app = make_app()
    async with app.run_test(size=(150, 50)) as pilot:
        screen = await open_ticket(pilot, app, ticket_id)
        survey = next(b for b in screen.timeline.blocks if "survey" in b.entry.meta)
        heading, note = lines(survey)[:2]
        assert " · survey answer · " in heading[0]
        assert note[0].startswith("survey: satisfaction ") and note[1] == "meta"
