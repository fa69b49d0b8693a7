"""Errors a channel reports to whoever handed it input (an SMTP client, a webhook caller)."""

from __future__ import annotations


class ChannelError(Exception):
    """Outside input we refuse; ``str()`` is one sentence, ``field`` names what was wrong."""

    code = "channel"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str]:
        data = {"code": self.code, "message": self.message}
        if self.field:
            data["field"] = self.field
        return data


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
