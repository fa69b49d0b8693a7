"""Inbound mail throughput and the cost of hostile mail: ``python bench/channels_ingest.py``.

Ingests N plain mails into a fresh workspace through the local write path (parse, claim,
thread, one mutation, auto-reply queued), then times single hostile cases: a 20 MB body, the
1,000-part mail and an HTML-only mail.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from _timing import measure, summary
from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.mail_parse import parse_mail
from supportdesk.channels.settings import ChannelSettings
from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store.workspace import Workspace

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "channels" / "fixtures"


def mail(n: int, body: str = "My printer is on fire, please help.") -> bytes:
    message = EmailMessage()
    message["From"] = f"Customer {n} <customer{n % 500}@example.com>"
    message["To"] = "support@acme.test"
    message["Subject"] = f"Question number {n}"
    message["Message-ID"] = f"<bench-{n}@example.com>"
    message.set_content(body)
    return message.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        workspace = Workspace.open(Path(folder) / "ws")

        def apply(name: str, payload: dict[str, Any]) -> dict[str, Any]:
            return write.apply(workspace, name, payload, actor=SYSTEM).result

        apply("group.create", {"name": "Support", "email": "support@acme.test"})
        settings = ChannelSettings(secret="bench-secret-0123456789", attachments_dir=workspace.attachments_dir)
        ingest = MailIngest(workspace.engine, apply, settings)
        started = time.perf_counter()
        for n in range(args.mails):
            ingest.ingest(mail(n))
        elapsed = time.perf_counter() - started
        print(f"ingest {args.mails} mails: {elapsed:.1f} s, {args.mails / elapsed:.0f} mails/s")
        big = mail(10**6, ("All work and no play. " * 50 + "\n") * 19_000)
        print(
            f"parse a {len(big) / 1e6:.0f} MB mail:   {summary(measure(lambda: parse_mail(big), repeat=3, warmup=1))}"
        )
        copies = iter([big.replace(b"bench-1000000", f"big-{n}".encode()) for n in range(3)])
        samples = measure(lambda: ingest.ingest(next(copies)), repeat=3, warmup=0)
        print(f"ingest a {len(big) / 1e6:.0f} MB mail:  {summary(samples)}")
        for name in ("thousand_parts.eml", "html_hidden.eml", "deep_nesting.eml"):
            raw = (FIXTURES / name).read_bytes()
            print(f"parse {name:22} {summary(measure(lambda raw=raw: parse_mail(raw), repeat=20))}")
        workspace.close()


if __name__ == "__main__":
    sys.exit(main())
