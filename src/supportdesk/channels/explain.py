"""One-line explanations of a message's channel meta, for the console's timeline and the CLI.

Plain strings from plain dicts (no database, no UI import), so the console can show under a
mail *how* it joined its ticket and what was odd about its sender, without knowing the layout
of ``Message.meta`` itself. The caller still renders them as text, never as markup.
"""

from __future__ import annotations

from typing import Any

#: Authentication-Results verdicts that mean the check failed.
FAILED_VERDICTS = frozenset({"fail", "softfail", "permerror"})

_METHODS = {
    "signed-reference": "threaded: answers a mail we sent (signed Message-ID)",
    "known-reference": "threaded: answers the requester's own earlier mail",
    "subject-tag": "threaded: ticket number in the subject, sent by the requester",
    "new": "new ticket: no trusted reference or tag",
}


def threading_line(meta: dict[str, Any]) -> str | None:
    """How an inbound mail found its ticket, plus any reference that was refused."""
    email = meta.get("email")
    if not isinstance(email, dict) or not isinstance(email.get("threading"), dict):
        return None
    threading = email["threading"]
    line = _METHODS.get(str(threading.get("method")), f"threaded: {threading.get('method')}")
    refused = threading.get("refused") or []
    if refused:
        line += f" · refused: {'; '.join(str(reason) for reason in refused[:3])}"
    return line


def sender_lines(meta: dict[str, Any]) -> list[str]:
    """The real From, automation and spoofing warnings of an inbound mail."""
    return [text for text, _warning in sender_notes(meta)]


def sender_notes(meta: dict[str, Any]) -> list[tuple[str, bool]]:
    """:func:`sender_lines`, each with whether it is a warning (the console colours those)."""
    email = meta.get("email")
    if not isinstance(email, dict):
        return []
    notes: list[tuple[str, bool]] = []
    if email.get("from"):
        name = email.get("from_name")
        notes.append((f"from {name} <{email['from']}>" if name else f"from {email['from']}", False))
    notes.extend((str(warning), True) for warning in email.get("warnings") or [])
    automated = email.get("automated") or []
    if automated:
        notes.append((f"automated mail ({', '.join(str(reason) for reason in automated)}): no auto-reply sent", True))
    auth = email.get("authentication")
    if isinstance(auth, dict) and auth.get("verdict") not in (None, "none"):
        notes.append((f"authentication: {auth['verdict']}", auth["verdict"] in FAILED_VERDICTS))
    for other in (email.get("untrusted_authentication") or [])[:3]:
        if isinstance(other, dict):
            notes.append(
                (f"ignored Authentication-Results from {other.get('authserv_id')} (not our mail server)", False)
            )
    return notes


def channel_line(meta: dict[str, Any]) -> str | None:
    """Where a webhook channel's message came from; a phone call's direction and length.

    A webhook channel writes its own line into its meta (``meta[<channel>]["via"]``, see
    :mod:`supportdesk.channels.webhooks.base`), so this module knows no channel by name; the
    chat, social and web-form branches below read messages stored before that line existed.
    """
    if isinstance(meta.get("call"), dict):
        call = meta["call"]
        minutes, seconds = divmod(int(call.get("duration_seconds") or 0), 60)
        return f"call {call.get('direction')} {call.get('number')} · {minutes}:{seconds:02d}"
    for value in meta.values():
        if isinstance(value, dict) and isinstance(value.get("via"), str):
            return str(value["via"])
    if isinstance(meta.get("chat"), dict):
        chat = meta["chat"]
        who = chat.get("author_name") or chat.get("author")
        return f"chat {chat.get('conversation_id')} · {who}"
    if isinstance(meta.get("social"), dict):
        social = meta["social"]
        where = " (private)" if social.get("private") else ""
        return f"{social.get('network')} {social.get('handle')}{where}"
    if isinstance(meta.get("webform"), dict):
        return f"web form {meta['webform'].get('form')}"
    return None
