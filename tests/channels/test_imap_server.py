"""``supportdesk serve`` with ``[[channels.imap]]``: a real server process reading a real Dovecot.

The server is killed (SIGKILL, no shutdown) in the middle of a mailbox and started again: every
mail becomes exactly one ticket. A wrong password is reported and the server goes on serving.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.channels.conftest import make_mail
from tests.channels.imap_dovecot import Dovecot, dovecot
from tests.channels.server_helpers import EMAIL_TOKEN, SECRET, wait_for, write_config
from tests.live import Deployment, deploy

pytestmark = pytest.mark.integration


def configure(imap: Dovecot, tmp_path: Path, backend: str, **mailbox: object) -> None:
    """The config file: ``[channels]`` and one ``[[channels.imap]]`` table for the support mailbox."""
    channels: dict[str, Any] = {"secret": SECRET, "mail_domain": "acme.test", "email_token": EMAIL_TOKEN}
    if backend == "postgresql":
        channels["attachments_dir"] = str(tmp_path / "mail-attachments")
    path = write_config({"channels": channels})
    table = imap.mailbox(**mailbox)
    lines = ["[[channels.imap]]", *(f"{key} = {json.dumps(value)}" for key, value in table.items()), ""]
    path.write_text(path.read_text() + "\n".join(lines))


@contextmanager
def serving(backend: str, tmp_path: Path) -> Iterator[Deployment]:
    with deploy(backend, tmp_path) as deployment:
        yield deployment


def count(deployment: Deployment, sql: str) -> int:
    with deployment.team.db.engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def mailbox_row(deployment: Deployment) -> dict[str, Any]:
    with deployment.team.db.engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM channel_imap_mailbox")).mappings().first()
    return dict(row) if row else {}


def mailboxes_command(deployment: Deployment, *flags: str) -> subprocess.CompletedProcess[str]:
    """``supportdesk server mailboxes``, the admin's look at the mailboxes, as a real process."""
    command = [sys.executable, "-m", "supportdesk", "server", "mailboxes", "--db", deployment.server.db, *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_server_killed_mid_mailbox_takes_every_mail_exactly_once(backend: str, tmp_path: Path) -> None:
    total = 120
    with dovecot() as imap:
        imap.append(*[make_mail(subject=f"Question {n}") for n in range(total)])
        configure(imap, tmp_path, backend)
        with serving(backend, tmp_path) as deployment:
            wait_for(lambda: count(deployment, "SELECT count(*) FROM ticket") >= 10, "the first tickets", 120)
            deployment.server.kill()
            taken = count(deployment, "SELECT count(*) FROM ticket")
            assert taken < total, "the server finished before it was killed: the test proves nothing"

            deployment.server.start()
            wait_for(lambda: mailbox_row(deployment).get("last_uid") == total, "the whole mailbox", 180)
            assert count(deployment, "SELECT count(*) FROM ticket") == total
            assert count(deployment, "SELECT count(*) FROM message") == total
            subjects = count(deployment, "SELECT count(DISTINCT subject) FROM ticket")
            assert subjects == total
            assert all("\\Seen" in flags for flags in imap.uids().values())

            # and later mail arrives while the server idles, and reaches the agents by sync
            imap.append(make_mail(subject="After the restart"))
            wait_for(lambda: count(deployment, "SELECT count(*) FROM ticket") == total + 1, "the new mail", 60)
            wait_for(lambda: mailbox_row(deployment).get("last_uid") == total + 1, "the new mail's UID", 60)
            check = mailboxes_command(deployment, "--json")
            assert check.returncode == 0, check.stderr
            [shown] = json.loads(check.stdout)
            assert (shown["address"], shown["last_uid"], shown["last_error"]) == ("support@acme.test", total + 1, None)
            # a mail ingested just before the kill came again as a duplicate: not counted twice
            assert shown["ingested"] in (total, total + 1)
            sam = deployment.replica("sam")
            try:
                found = sam.rows("SELECT count(*) FROM ticket WHERE subject = 'After the restart'")
                assert found == [(1,)]
            finally:
                sam.close()
        assert "Traceback" not in deployment.server.log.read_text()


def test_a_wrong_password_is_reported_and_the_server_keeps_serving(tmp_path: Path) -> None:
    with dovecot() as imap:
        imap.append(make_mail(subject="Waiting in the mailbox"))
        configure(imap, tmp_path, "sqlite", password="wrong-password", retry_seconds=0.5)
        with serving("sqlite", tmp_path) as deployment:
            wait_for(lambda: mailbox_row(deployment).get("last_error"), "the failure to be recorded", 60)
            error = mailbox_row(deployment)["last_error"]
            assert error.startswith("127.0.0.1 refused the login of support@acme.test (")
            # the server goes on: health, and mail by the other way in
            assert httpx.get(f"{deployment.server.url}/v1/health", timeout=10).status_code == 200
            posted = httpx.post(
                f"{deployment.server.url}/v1/channels/email",
                content=make_mail(subject="Through the pipe"),
                headers={"Authorization": f"Bearer {EMAIL_TOKEN}"},
                timeout=30,
            )
            assert posted.status_code == 200 and posted.json()["status"] == "created"
            check = mailboxes_command(deployment)
            assert check.returncode == 1, "a failing mailbox fails the check (for monitoring)"
            assert "refused the login of support@acme.test" in check.stdout and "wrong-password" not in check.stdout
        log = deployment.server.log.read_text()
        assert "refused the login of support@acme.test" in log
        assert log.count("refused the login") == 1, "one line per change, not one per retry"
        assert "wrong-password" not in log and "Traceback" not in log
        assert len(imap.uids()) == 1 and all("\\Seen" not in flags for flags in imap.uids().values())
