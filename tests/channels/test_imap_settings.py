"""``[[channels.imap]]``: every mistake is one ConfigError naming the key; secrets read at connect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from supportdesk.channels.imap_settings import ImapMailbox, SecretUnavailable, parse_imap
from supportdesk.channels.settings import ChannelSettings
from supportdesk.config import ConfigError

BASE = {"address": "Support@Acme.test", "host": "imap.acme.test", "username": "support", "password": "pw"}


def one(**changes: Any) -> ImapMailbox:
    table = {**BASE, **changes}
    return parse_imap([{key: value for key, value in table.items() if value is not None}])[0]


def test_defaults_are_implicit_tls_on_993_mark_seen_and_unread_first() -> None:
    mailbox = one()
    assert (mailbox.address, mailbox.port, mailbox.tls, mailbox.folder) == (
        "support@acme.test",
        993,
        "implicit",
        "INBOX",
    )
    assert (mailbox.after_fetch, mailbox.first_fetch, mailbox.idle) == ("seen", "unseen", True)
    assert mailbox.key == "imap://support@imap.acme.test:993/INBOX"
    assert one(tls="starttls").port == 143


def test_the_channels_table_carries_its_mailboxes() -> None:
    settings = ChannelSettings.from_section(
        {"secret": "x" * 20, "imap": [BASE, {**BASE, "folder": "Billing"}]}, attachments_dir=Path("a")
    )
    assert [mailbox.folder for mailbox in settings.imap] == ["INBOX", "Billing"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pasword": "typo"}, "has no setting 'pasword'"),
        ({"password": None}, "needs exactly one of password, password_env, password_file"),
        ({"password_env": "X"}, "needs exactly one of password, password_env, password_file"),
        ({"host": None}, "needs host"),
        ({"address": "support"}, "is not a mail address"),
        ({"after_fetch": "delete"}, "after_fetch must be one of 'seen', 'move'"),
        ({"after_fetch": "move"}, "needs move_to"),
        ({"after_fetch": "move", "move_to": "INBOX"}, "move_to must differ from folder"),
        ({"rejected_folder": "INBOX"}, "rejected_folder must differ"),
        ({"tls": "none"}, "tls must be one of 'implicit', 'starttls'"),
        ({"auth": "cram-md5"}, "auth must be one of"),
        ({"port": 0}, "port must be a port number"),
        ({"port": "993"}, "port must be a port number"),
        ({"idle": "yes"}, "idle must be true or false"),
        ({"idle_seconds": 3600}, "idle_seconds must be a number of seconds between 0.05 and 1740"),
        ({"poll_seconds": 0}, "poll_seconds must be"),
        ({"folder": "INBOX\r\nA1 DELETE INBOX"}, "folder must be a non-empty string on one line"),
        ({"username": "a\nb"}, "username must be a non-empty string on one line"),
    ],
)
def test_a_wrong_mailbox_is_one_line_naming_the_key(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        one(**changes)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_imap_must_be_tables_and_a_folder_only_once() -> None:
    with pytest.raises(ConfigError, match=r"\[\[channels.imap\]\] tables"):
        parse_imap({"address": "x@y"})
    with pytest.raises(ConfigError, match="configured twice"):
        parse_imap([BASE, BASE])


def test_the_secret_is_read_when_connecting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file = tmp_path / "imap-password"
    from_file = one(password=None, password_file=str(secret_file))
    with pytest.raises(SecretUnavailable, match="cannot read password_file"):
        from_file.secret()
    secret_file.write_text("rotated-app-password\n")
    assert from_file.secret() == "rotated-app-password"
    secret_file.write_text("")
    with pytest.raises(SecretUnavailable, match="is empty"):
        from_file.secret()

    from_env = one(password=None, password_env="SUPPORT_IMAP_PASSWORD")
    monkeypatch.delenv("SUPPORT_IMAP_PASSWORD", raising=False)
    with pytest.raises(SecretUnavailable, match="SUPPORT_IMAP_PASSWORD"):
        from_env.secret()
    monkeypatch.setenv("SUPPORT_IMAP_PASSWORD", "from-the-environment")
    assert from_env.secret() == "from-the-environment"


def test_the_password_never_shows_in_what_is_printed() -> None:
    mailbox = one(password="s3cret-app-password")
    assert "s3cret" not in str(mailbox) and "s3cret" not in mailbox.key
