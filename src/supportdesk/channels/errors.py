"""Errors a channel reports to whoever handed it input (an SMTP client, a webhook caller)."""

from __future__ import annotations

from supportdesk.domain.errors import DomainError


class ChannelError(DomainError):
    """Outside input we refuse; ``str()`` is one sentence, ``field`` names what was wrong.

    ``status`` is the HTTP status the server answers with (the body is ``as_dict()``).
    """

    code = "channel"
    status = 400


class MailRejected(ChannelError):
    """A mail we will not take at all (too large, no usable sender, no known recipient)."""

    code = "mail_rejected"


class MailTooLarge(MailRejected):
    code = "too_large"
    status = 413


class SignatureError(ChannelError):
    """A webhook whose signature is missing, wrong or too old."""

    code = "signature"
    status = 401


class PayloadInvalid(ChannelError):
    code = "invalid"
    status = 422
