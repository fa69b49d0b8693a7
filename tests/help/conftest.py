"""A real team server with the help center on: ``supportdesk serve`` in a subprocess, its
``[help]`` and ``[channels]`` tables in its own config file, articles written before it starts
through the server's write path (``apply_as``), among them hostile ones."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from supportdesk.domain.context import SYSTEM
from supportdesk.server import admin
from supportdesk.server.apply import apply_as
from supportdesk.server.db import ServerDatabase, open_database
from tests.live import LiveServer

SECRET = "help-center-test-secret-0123456789"
#: A 1×1 PNG, the brand's logo.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201b1d1cd"
    "2a0000000049454e44ae426082"
)
HOSTILE_TITLE = '<script>window.pwned = 1</script> "Quoted" & <b>bold</b>'
HOSTILE_BODY = (
    "Try this:\n\n<script>window.pwned = 2</script>\n\n"
    "[click me](javascript:window.pwned=3) and <img src=x onerror=window.pwned=4>\n\n"
    '<a href="javascript:window.pwned=5">raw link</a>\n'
)

ARTICLES: list[dict[str, Any]] = [
    {
        "slug": "refunds",
        "title": "Refunds and returns",
        "body": "# Refunds\n\nOpen **Orders**, choose the order and press *Return*. "
        "The money is back on your card within five working days.",
        "tags": ["billing"],
        "section": "Billing",
    },
    {
        "slug": "reset-password",
        "title": "Reset your password",
        "body": "Press *Forgot password* on the sign-in page; we mail you a link that works for an hour.",
        "tags": ["account"],
        "section": "Account",
    },
    {
        "slug": "change-delivery-address",
        "title": "Change the delivery address",
        "body": "Until an order ships you can change where it goes under **Orders → Delivery**.",
        "tags": ["shipping"],
        "section": "Orders",
    },
    {"slug": "hostile", "title": HOSTILE_TITLE, "body": HOSTILE_BODY, "tags": [], "section": "Account"},
]
ACKNOWLEDGE = {
    "name": "Acknowledge web forms",
    "when": ["created"],
    "conditions": {"channel": "web"},
    "actions": [{"auto_reply": "Hi {{ ticket.requester.first_name }}, we have your request #{{ ticket.number }}."}],
}
INTERNAL = {
    "slug": "internal-escalations",
    "title": "Escalations to engineering (internal)",
    "body": "Page the on-call.",
}


def write_config(
    path: Path,
    help_table: dict[str, Any],
    *,
    attachments: Path,
    channels: dict[str, Any] | None = None,
    extra: dict[str, dict[str, Any]] | None = None,
) -> None:
    tables = {
        **(extra or {}),
        "help": help_table,
        "channels": {
            "secret": SECRET,
            "mail_domain": "acme.test",
            "attachments_dir": str(attachments),
            **(channels or {}),
        },
        "channels.webhooks.webform": {"secret": "form-inbound-secret"},
    }
    lines: list[str] = []
    for name, values in tables.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
        lines.append("")
    path.write_text("\n".join(lines))


@dataclass
class HelpServer:
    server: LiveServer
    url: str
    admin_token: str
    ids: dict[str, str]

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, headers=headers)

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.admin_token}"})

    def scalar(self, sql: str, **params: Any) -> Any:
        from sqlalchemy import text

        database = open_database(self.server.db)
        try:
            with database.engine.connect() as connection:
                return connection.execute(text(sql), params).scalar()
        finally:
            database.dispose()


def start_help_server(
    root: Path,
    help_table: dict[str, Any],
    db: str | None = None,
    *,
    relay_port: int | None = None,
    prepare: Callable[[ServerDatabase], None] | None = None,
    tables: dict[str, dict[str, Any]] | None = None,
) -> HelpServer:
    """A server over ``db`` (default: a SQLite file in ``root``) with the test articles; with
    ``relay_port`` its mail goes to that SMTP relay and its links name its own address."""
    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.toml"
    logo = root / "logo.png"
    logo.write_bytes(PNG)
    help_table = {"logo": str(logo), **help_table}
    db = db or str(root / "server.db")
    server = LiveServer(db, root, env={"SUPPORTDESK_CONFIG": str(config)}, extra=["--outbox-interval", "0.1"])
    channels = {"relay": f"smtp://127.0.0.1:{relay_port}", "public_url": server.url} if relay_port else None
    write_config(config, help_table, attachments=root / "attachments", channels=channels, extra=tables)
    database = open_database(db)
    ids: dict[str, str] = {}
    try:
        admin.add_group(database, "Tier 1", "support@acme.test")
        admin.add_agent(database, "Ada Admin", "ada@acme.test", "admin", [])
        token = admin.new_token(database, "ada@acme.test")[1]
        for article in ARTICLES:
            created, _ = apply_as(
                database,
                SYSTEM,
                "article.create",
                {k: article[k] for k in ("slug", "title", "body", "tags")},
            )
            ids[article["slug"]] = created["article_id"]
            apply_as(
                database,
                SYSTEM,
                "article.publish",
                {"article_id": created["article_id"], "section": article["section"]},
            )
        # the confirmation mail of a web-form request is the team's auto-reply rule (README)
        apply_as(database, SYSTEM, "rule.create", {"definition": ACKNOWLEDGE})
        created, _ = apply_as(database, SYSTEM, "article.create", INTERNAL)
        ids[INTERNAL["slug"]] = created["article_id"]
        if prepare is not None:
            prepare(database)
    finally:
        database.dispose()
    server.start()
    return HelpServer(server, server.url, token, ids)


HELP_TABLE = {
    "brand": "Acme Help",
    "colour": "#0b6e4f",
    "support_email": "support@acme.test",
    "secret": "help-secret-for-tests-0123456789",
    "deflection_minutes": 0,
    "form_per_ip": 100,
    "form_per_address": 2,
}


@pytest.fixture(scope="module")
def help_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HelpServer]:
    started = start_help_server(tmp_path_factory.mktemp("help"), HELP_TABLE)
    yield started
    started.server.stop()


def hidden(html: str, name: str) -> str:
    """The value of a hidden field of a page."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no field {name}"
    return found.group(1)
