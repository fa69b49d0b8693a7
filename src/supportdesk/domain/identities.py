"""Normalise a customer's address on a channel, so one address is always one identity."""

from __future__ import annotations

import re

from supportdesk.domain.errors import ValidationFailed
from supportdesk.domain.text_safety import make_visible
from supportdesk.store.enums import IdentityKind

_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")
_HANDLE = re.compile(r"^[\w.\-@+:]{1,120}$")


def normalize_identity(kind: IdentityKind | str, value: str) -> str:
    """Lower-cased email; phone as ``+`` and digits; chat handle; ``network:@handle`` on social."""
    kind = IdentityKind(kind)
    raw = make_visible(value.strip())
    if kind == IdentityKind.EMAIL:
        address = raw.lower()
        if len(address) > 320 or not _EMAIL.match(address):
            raise ValidationFailed(f"{value!r} is not an email address", field="value")
        return address
    if kind == IdentityKind.PHONE:
        digits = re.sub(r"[\s().\-/]", "", raw)
        if digits.startswith("00"):
            digits = "+" + digits[2:]
        if not re.fullmatch(r"\+?\d{5,20}", digits):
            raise ValidationFailed(f"{value!r} is not a phone number", field="value")
        return digits
    if kind == IdentityKind.SOCIAL:
        network, sep, handle = raw.partition(":")
        if not sep or not network or not handle:
            raise ValidationFailed(f"{value!r} is not a social handle: write it as network:@handle", field="value")
        handle = handle.strip()
        if not handle.startswith("@"):
            handle = "@" + handle
        normalized = f"{network.strip().lower()}:{handle.lower()}"
        if not _HANDLE.match(normalized):
            raise ValidationFailed(f"{value!r} is not a social handle", field="value")
        return normalized
    handle = raw.lower()
    if not _HANDLE.match(handle):
        raise ValidationFailed(f"{value!r} is not a chat handle", field="value")
    return handle


def guess_kind(value: str) -> IdentityKind:
    """What kind of address a bare value looks like (for ``--requester`` on the CLI)."""
    text = value.strip()
    if "@" in text and ":" not in text.split("@", 1)[0]:
        return IdentityKind.EMAIL
    if ":" in text:
        return IdentityKind.SOCIAL
    if re.fullmatch(r"[+\d\s().\-/]{5,}", text):
        return IdentityKind.PHONE
    return IdentityKind.CHAT
