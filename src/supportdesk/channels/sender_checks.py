"""What we can say about who really sent a mail: the From, a differing Reply-To, the verdicts.

We do not verify signatures ourselves; the receiving MTA does and writes its verdicts into
``Authentication-Results`` (RFC 8601). Anyone can write that header too — a sender can put
``dmarc=pass`` into their own mail — so a verdict is believed only from our own receiving server:
the topmost header whose authserv-id is one of ``[channels] authserv_id`` (our MTA adds its own
on top; RFC 8601 has it remove forged copies of its id, and taking the topmost one defends even
against an MTA that does not). Every other Authentication-Results header is recorded as untrusted
and decides nothing. Without ``authserv_id`` nothing is believed and no sender counts as verified.

A sender is **verified** when our server says DMARC passed, or DKIM or SPF passed for a domain
aligned with the From address (the domain or one of its parents or subdomains); **failed** when it
says DMARC, DKIM or SPF failed; **unverified** otherwise. Threading acts on this (see
:mod:`supportdesk.channels.mail_threading`); the agent sees the real From address (never only a
display name), a warning when Reply-To points elsewhere, and a failed check.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from supportdesk.channels.explain import FAILED_VERDICTS as FAILED
from supportdesk.channels.mail_parse import ParsedMail

SenderAuth = Literal["verified", "unverified", "failed"]

_RESULT = re.compile(r"^\s*([a-z0-9_-]+)\s*=\s*([a-z]+)", re.IGNORECASE)
_PROPERTY = re.compile(r"\b(header\.from|header\.d|header\.i|smtp\.mailfrom|smtp\.helo)\s*=\s*([^\s;()]+)", re.I)
_COMMENT = re.compile(r"\([^()]*\)")
_PRIORITY = ("dmarc", "dkim", "spf")
MAX_UNTRUSTED = 5


def authserv_id(header: str) -> str:
    """The authserv-id a header names (its first token, without the optional version)."""
    server = _COMMENT.sub(" ", header.partition(";")[0]).split()
    return server[0].lower()[:200] if server else ""


def authentication(header: str | None) -> dict[str, str] | None:
    """The results of one Authentication-Results header, with an overall ``verdict``.

    ``dmarc``, ``dkim``, ``spf`` … hold each method's first result; ``dkim.d``, ``spf.mailfrom``
    and ``dmarc.from`` the domains they were about, for the alignment check.
    """
    if not header:
        return None
    results: dict[str, str] = {"authserv_id": authserv_id(header)}
    for clause in _COMMENT.sub(" ", header).split(";")[1:]:
        found = _RESULT.match(clause)
        if found is None:
            continue
        method, result = found.group(1).lower(), found.group(2).lower()
        if method in results:
            if method == "dkim" and result == "pass" and results[method] != "pass":
                results.pop("dkim.d", None)  # a passing signature counts over a failing one
            else:
                continue
        results[method] = result
        for name, value in _PROPERTY.findall(clause):
            value = value.strip("\"'").lower()
            domain = value.rpartition("@")[2][:253]
            key = {"header.from": "dmarc.from", "smtp.mailfrom": "spf.mailfrom"}.get(name.lower(), "dkim.d")
            if name.lower() in ("header.d", "header.i") and method != "dkim":
                continue
            results.setdefault(key, domain)
    results["verdict"] = next((results[m] for m in _PRIORITY if m in results), "none")
    return results


def _aligned(domain: str | None, sender_domain: str) -> bool:
    if not domain:
        return False
    return domain == sender_domain or sender_domain.endswith("." + domain) or domain.endswith("." + sender_domain)


def split_results(mail: ParsedMail, trusted_ids: tuple[str, ...]) -> tuple[dict[str, str] | None, list[dict[str, str]]]:
    """Our receiving server's results (the topmost header with our authserv-id), and the rest."""
    ours: dict[str, str] | None = None
    others: list[dict[str, str]] = []
    for header in mail.authentication_results:
        parsed = authentication(header)
        if parsed is None:
            continue
        if ours is None and parsed["authserv_id"] in trusted_ids:
            ours = parsed
        elif len(others) < MAX_UNTRUSTED:
            others.append(parsed)
    return ours, others


def sender_auth(mail: ParsedMail, trusted_ids: tuple[str, ...]) -> SenderAuth:
    """``verified``, ``failed`` or ``unverified``: what our own server says of the From address."""
    ours, _ = split_results(mail, trusted_ids)
    if ours is None or mail.from_address is None:
        return "unverified"
    if any(ours.get(method) in FAILED for method in _PRIORITY):
        return "failed"
    domain = mail.from_address.rpartition("@")[2]
    if ours.get("dmarc") == "pass" and (not ours.get("dmarc.from") or _aligned(ours["dmarc.from"], domain)):
        return "verified"
    if ours.get("dkim") == "pass" and _aligned(ours.get("dkim.d"), domain):
        return "verified"
    if ours.get("spf") == "pass" and _aligned(ours.get("spf.mailfrom"), domain):
        return "verified"
    return "unverified"


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


def sender_record(mail: ParsedMail, trusted_ids: tuple[str, ...] = ()) -> dict[str, Any]:
    """The part of a message's meta that shows who sent it and how much to trust that."""
    ours, others = split_results(mail, trusted_ids)
    return {
        "from": mail.from_address,
        "from_name": mail.from_name,
        "reply_to": mail.reply_to,
        "reply_to_differs": any(address != mail.from_address for address in mail.reply_to),
        "authentication": ours,
        "untrusted_authentication": [
            {"authserv_id": item["authserv_id"], "verdict": item["verdict"]} for item in others
        ],
        "sender": sender_auth(mail, trusted_ids),
        "warnings": sender_warnings(mail, ours),
    }
