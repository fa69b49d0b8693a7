"""A real Dovecot for the IMAP tests: started by the test, unprivileged, on 127.0.0.1.

Debian's ``dovecot-imapd`` (``.ci/run`` installs it). Each test gets its own server: a throwaway
config, users in a passwd-file, a self-signed certificate made here (``openssl``), maildirs in a
temporary folder. Dovecot refuses to run its login processes as root, so under root (CI) the
whole server runs as ``nobody``; otherwise as the user running the tests.

:class:`Dovecot` also plays the other mail clients of the mailbox: it appends mails, lists
folders and flags, and recreates a folder (a new UIDVALIDITY), over plain ``imaplib``.
"""

from __future__ import annotations

import imaplib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "support@acme.test"
PASSWORD = "app-password-0123"


def _need_dovecot() -> None:
    if Path(DOVECOT).exists() and shutil.which("openssl"):
        return
    reason = "the IMAP tests need Debian's dovecot-imapd and openssl (apt-get install dovecot-imapd; .ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
  }}
}}
service anvil {{
  chroot =
}}
protocol imap {{
  imap_idle_notify_interval = 2 mins
}}
"""


@dataclass
class Dovecot:
    root: Path
    port: int
    starttls_port: int
    process: subprocess.Popen[bytes]
    users: dict[str, str] = field(default_factory=dict)

    @property
    def ca_file(self) -> Path:
        return self.root / "cert.pem"

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def mailbox(self, **overrides: object) -> dict[str, object]:
        """A ``[[channels.imap]]`` table for this server's support mailbox."""
        return {
            "address": USER,
            "host": "127.0.0.1",
            "port": self.port,
            "username": USER,
            "password": PASSWORD,
            "ca_file": str(self.ca_file),
            "retry_seconds": 0.5,
            **overrides,
        }

    @contextmanager
    def client(self, user: str = USER) -> Iterator[imaplib.IMAP4_SSL]:
        """Another mail client of the mailbox (a person reading it, the provider delivering)."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        connection = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context, timeout=30)
        connection.login(user, self.users[user])
        try:
            yield connection
        finally:
            with suppress(OSError, imaplib.IMAP4.error):
                connection.logout()

    def append(self, *mails: bytes, folder: str = "INBOX", seen: bool = False) -> None:
        with self.client() as connection:
            self._ensure(connection, folder)
            for raw in mails:
                status, reply = connection.append(folder, "(\\Seen)" if seen else None, None, raw)
                assert status == "OK", reply

    def _ensure(self, connection: imaplib.IMAP4_SSL, folder: str) -> None:
        if folder != "INBOX":
            connection.create(_quoted(folder))  # an existing folder answers NO, harmlessly

    def uids(self, folder: str = "INBOX") -> dict[int, set[str]]:
        """UID → flags of every mail in ``folder`` (empty when there is no such folder)."""
        with self.client() as connection:
            status, _ = connection.select(_quoted(folder), readonly=True)
            if status != "OK":
                return {}
            status, data = connection.uid("FETCH", "1:*", "(FLAGS)")
            found: dict[int, set[str]] = {}
            for item in data:
                if not isinstance(item, bytes):
                    continue
                text = item.decode()
                uid = int(text.split("UID ", 1)[1].split()[0].rstrip(")"))
                flags = text.split("FLAGS (", 1)[1].split(")", 1)[0].split()
                found[uid] = set(flags)
            return found

    def recreate(self, folder: str) -> None:
        """Delete ``folder`` and make it again: the server gives it a new UIDVALIDITY."""
        with self.client() as connection:
            connection.delete(_quoted(folder))
            connection.create(_quoted(folder))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _quoted(folder: str) -> str:
    return f'"{folder}"'


def _make_certificate(root: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip


@contextmanager
def dovecot(users: dict[str, str] | None = None) -> Iterator[Dovecot]:
    """A running Dovecot with ``users`` (name → password; by default the support mailbox)."""
    _need_dovecot()
    users = users or {USER: PASSWORD}
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    as_root = os.geteuid() == 0
    user, group = ("nobody", "nogroup") if as_root else (_name(os.getuid()), _group(os.getgid()))
    import grp
    import pwd

    uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
    for folder in ("run", "state", "home"):
        (root / folder).mkdir()
    _make_certificate(root)
    (root / "passwd").write_text("".join(f"{name}:{{PLAIN}}{secret}\n" for name, secret in users.items()))
    port, starttls_port = free_port(), free_port()
    (root / "dovecot.conf").write_text(
        CONFIG.format(root=root, user=user, group=group, uid=uid, gid=gid, port=port, starttls_port=starttls_port)
    )
    if as_root:
        for path in [root, *root.rglob("*")]:
            os.chown(path, uid, gid)
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        user=uid if as_root else None,
        group=gid if as_root else None,
        extra_groups=[] if as_root else None,
    )
    server = Dovecot(root, port, starttls_port, process, dict(users))
    try:
        _wait_until_listening(server)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_listening(server: Dovecot) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            stderr = server.process.stderr.read().decode(errors="replace") if server.process.stderr else ""
            raise RuntimeError(f"dovecot exited: {stderr}{server.log()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen in 30 s: {server.log()[-2000:]}")


def _name(uid: int) -> str:
    import pwd

    return pwd.getpwuid(uid).pw_name


def _group(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name
