"""Starting a server with and without channels: what each refuses, in one line, and why."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from supportdesk.config import ConfigError
from supportdesk.server.channels import attachments_dir
from tests.channels.server_helpers import SECRET, write_config
from tests.live import deploy


def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "supportdesk", "serve", "--port", "1", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("supportdesk: error: "), result.stderr
    return lines[0]


def test_smtp_and_relay_flags_need_a_channels_table(tmp_path: Path) -> None:
    for flags in (["--smtp-port", "2525"], ["--relay", "smtp://127.0.0.1:25"]):
        result = serve(tmp_path, "--db", str(tmp_path / "s.db"), *flags)
        assert result.returncode == 2
        assert "need a [channels] table" in one_line_error(result)
    assert not (tmp_path / "s.db").exists()


def test_a_wrong_channels_setting_is_named(tmp_path: Path) -> None:
    write_config({"channels": {"secret": SECRET}})
    result = serve(tmp_path, "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert result.returncode == 2 and "attachments_dir is needed with PostgreSQL" in one_line_error(result)
    result = serve(tmp_path, "--db", str(tmp_path / "s.db"), "--relay", "http://mail.example")
    assert result.returncode == 2 and "smtp://user:pass@host:port" in one_line_error(result)
    write_config({"channels": {"secret": SECRET, "email_token": "short"}})
    result = serve(tmp_path, "--db", str(tmp_path / "s.db"))
    assert result.returncode == 2 and "email_token" in one_line_error(result)


def test_a_taken_smtp_port_is_refused_before_serving(tmp_path: Path) -> None:
    write_config({"channels": {"secret": SECRET}})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve(tmp_path, "--db", str(tmp_path / "s.db"), "--smtp-port", str(port))
    assert result.returncode == 4 and f"cannot receive SMTP on 127.0.0.1:{port}" in one_line_error(result)


def test_attachments_live_beside_a_sqlite_database_or_where_configured(tmp_path: Path) -> None:
    assert attachments_dir({}, str(tmp_path / "team.db")) == tmp_path / "team-attachments"
    assert attachments_dir({"attachments_dir": "/srv/mail"}, "postgresql://h/db") == Path("/srv/mail")
    with pytest.raises(ConfigError):
        attachments_dir({}, "postgresql://h/db")


def test_a_server_without_channels_says_so(tmp_path: Path) -> None:
    with deploy("sqlite", tmp_path) as running, running.api("ada") as client:
        mail = client.post("/v1/channels/email", content=b"From: a@example.com\r\n\r\nhi\r\n")
        chat = client.post("/v1/channels/chat", content=b"{}")
    for response in (mail, chat):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_configured"
