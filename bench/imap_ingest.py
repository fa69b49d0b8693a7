"""IMAP ingest throughput and IDLE latency: ``python bench/imap_ingest.py [--mails 1000]``.

Starts the tests' Dovecot (Debian's dovecot-imapd, unprivileged, TLS on 127.0.0.1), appends N
plain mails to the support mailbox, then times one fetcher taking them all into a fresh
workspace through the channels' ingest (per mail: size, body, parse, claim, thread,
``ticket.create``, auto-reply queued, mark seen, UID remembered) — once with ``after_fetch =
"seen"`` and once with ``"move"``. Then, with the fetcher idling, the time from a mail's APPEND
to its ticket (IDLE wake-up).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the Dovecot harness lives in tests/channels

from sqlalchemy import text
from tests.channels.imap_dovecot import Dovecot, dovecot

from supportdesk.channels.imap_fetch import MailboxFetcher
from supportdesk.channels.imap_settings import parse_imap
from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.settings import ChannelSettings
from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store.workspace import Workspace


def mail(n: int, tag: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {n} <customer{n % 500}@example.com>"
    message["To"] = "support@acme.test"
    message["Subject"] = f"Question number {n}"
    message["Message-ID"] = f"<imap-bench-{tag}-{n}@example.com>"
    message.set_content("My printer is on fire, please help.\n" * 5)
    return message.as_bytes()


def fresh_ingest(folder: Path) -> tuple[Workspace, MailIngest]:
    workspace = Workspace.open(folder)

    def apply(name: str, payload: dict[str, Any]) -> dict[str, Any]:
        return write.apply(workspace, name, payload, actor=SYSTEM).result

    apply("group.create", {"name": "Support", "email": "support@acme.test"})
    settings = ChannelSettings(secret="bench-secret-0123456789", attachments_dir=workspace.attachments_dir)
    return workspace, MailIngest(workspace.engine, apply, settings)


def tickets(workspace: Workspace) -> int:
    with workspace.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM ticket")).scalar_one())


def throughput(imap: Dovecot, root: Path, mails: int, **mailbox: Any) -> None:
    tag = str(mailbox.get("after_fetch", "seen"))
    started = time.perf_counter()
    batch = [mail(n, tag) for n in range(mails)]
    imap.append(*batch, folder="Bench-" + tag)
    appended = time.perf_counter() - started
    workspace, ingest = fresh_ingest(root / f"ws-{tag}")
    box = parse_imap([imap.mailbox(folder="Bench-" + tag, first_fetch="all", **mailbox)])[0]
    started = time.perf_counter()
    result = MailboxFetcher(box, ingest).fetch_once()
    elapsed = time.perf_counter() - started
    assert result.ingested == mails == tickets(workspace), (result, tickets(workspace))
    print(
        f"after_fetch={tag:5} fetch+ingest {mails} mails: {elapsed:.1f} s, {mails / elapsed:.0f} mails/s "
        f"(appending them took {appended:.1f} s)"
    )
    workspace.close()


def idle_latency(imap: Dovecot, root: Path, samples: int) -> None:
    workspace, ingest = fresh_ingest(root / "ws-idle")
    box = parse_imap([imap.mailbox(poll_seconds=1200, idle_seconds=1740)])[0]
    stop = threading.Event()
    thread = threading.Thread(target=MailboxFetcher(box, ingest).run, args=(stop,), daemon=True)
    thread.start()
    waits: list[float] = []
    try:
        for n in range(samples):
            before = tickets(workspace)
            started = time.perf_counter()
            imap.append(mail(n, "idle"))
            while tickets(workspace) == before:
                time.sleep(0.005)
                if time.perf_counter() - started > 60:
                    raise SystemExit("no wake-up within 60 s")
            waits.append(time.perf_counter() - started)
    finally:
        stop.set()
        thread.join(30)
        workspace.close()
    if not waits:
        return
    waits.sort()
    p50 = statistics.median(waits) * 1000
    print(f"APPEND → ticket while idling ({samples} mails): p50 {p50:.0f} ms, max {waits[-1] * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--idle-samples", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, dovecot() as imap:
        root = Path(folder)
        throughput(imap, root, args.mails)
        throughput(imap, root, args.mails, after_fetch="move", move_to="Handled")
        idle_latency(imap, root, args.idle_samples)


if __name__ == "__main__":
    sys.exit(main())
