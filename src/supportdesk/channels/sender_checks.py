"""What we can say about who really sent a mail: the From, a differing Reply-To, the verdicts.

We do not verify signatures ourselves; the receiving MTA does and writes its verdicts into
``Authentication-Results`` (RFC 8601). We record them, and the agent sees the real From address
(never only a display name), a warning when Reply-To points elsewhere, and a failed DMARC, SPF or
DKIM check.
"""

from __future__ import annotations

import re
from typing import Any

from supportdesk.channels.explain import FAILED_VERDICTS as FAILED
from supportdesk.channels.mail_parse import ParsedMail

_METHOD = re.compile(r"\b(spf|dkim|dmarc|arc)\s*=\s*([a-z]+)", re.IGNORECASE)
_PRIORITY = ("dmarc", "dkim", "spf")


def authentication(header: str | None) -> dict[str, str] | None:
    """The results of one Authentication-Results header, with an overall ``verdict``."""
    if not header:
        return None
    server, _, rest = header.partition(";")
    results: dict[str, str] = {"authserv_id": server.strip()[:200]}
    for method, result in _METHOD.findall(rest):
        results.setdefault(method.lower(), result.lower())
    verdict = next((results[m] for m in _PRIORITY if m in results), "none")
    results["verdict"] = verdict
    return results


def authentication_passed(mail: ParsedMail) -> bool:
    """False when the receiving MTA says DMARC, DKIM or SPF failed for this mail."""
    auth = authentication(mail.headers.get("authentication-results"))
    return auth is None or not any(auth.get(method) in FAILED for method in _PRIORITY)


def sender_warnings(mail: ParsedMail, auth: dict[str, str] | None) -> list[str]:
    """Short sentences for the agent about anything odd in who sent this mail."""
    warnings: list[str] = []
    if mail.from_address is None:
        warnings.append("the mail has no valid From address")
    differing = [address for address in mail.reply_to if address != mail.from_address]
    if differing:
        warnings.append(f"Reply-To ({', '.join(differing)}) differs from From ({mail.from_address})")
    if auth is not None:
        for method in _PRIORITY:
            if auth.get(method) in FAILED:
                warnings.append(f"{method.upper()} check: {auth[method]}")
    return warnings


def sender_record(mail: ParsedMail) -> dict[str, Any]:
    """The part of a message's meta that shows who sent it and how much to trust that."""
    auth = authentication(mail.headers.get("authentication-results"))
    return {
        "from": mail.from_address,
        "from_name": mail.from_name,
        "reply_to": mail.reply_to,
        "reply_to_differs": any(address != mail.from_address for address in mail.reply_to),
        "authentication": auth,
        "warnings": sender_warnings(mail, auth),
    }
