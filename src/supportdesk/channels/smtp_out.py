"""Sending mail through the team's SMTP relay with the standard library's ``smtplib``.

STARTTLS is used whenever the relay offers it (``smtps://`` relays speak TLS from the start);
credentials are only sent when the URL carries them, and only over TLS: a relay that offers no
STARTTLS (or one whose offer someone on the path stripped) never sees the password, unless
``relay_login_without_tls = true`` says the team accepts that (a relay on the same machine, say).
That refusal is a temporary failure with the reason, so the mail goes out once the relay or the
setting is fixed. Refusals of the 5xx kind are permanent, everything else — 4xx answers,
timeouts, a relay that is down — is worth another try.
"""

from __future__ import annotations

import smtplib
import ssl
from email import policy
from email.parser import BytesHeaderParser
from email.utils import parseaddr

from supportdesk.channels.delivery import OutboxEntry, PermanentFailure, TemporaryFailure
from supportdesk.channels.settings import RelayURL


class PlaintextLoginRefused(Exception):
    """The relay's credentials would have crossed the network unencrypted."""


class SmtpSender:
    def __init__(
        self,
        relay: RelayURL,
        *,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
        login_without_tls: bool = False,
    ) -> None:
        self.relay = relay
        self.timeout = timeout
        self.tls_context = tls_context or ssl.create_default_context()
        self.login_without_tls = login_without_tls

    def _connect(self) -> smtplib.SMTP:
        if self.relay.implicit_tls:
            return smtplib.SMTP_SSL(self.relay.host, self.relay.port, timeout=self.timeout, context=self.tls_context)
        return smtplib.SMTP(self.relay.host, self.relay.port, timeout=self.timeout)

    def send(self, entry: OutboxEntry) -> None:
        raw = entry.payload.encode("ascii")
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        envelope_from = parseaddr(str(headers.get("From", "")))[1]
        try:
            with self._connect() as smtp:
                smtp.ehlo()
                encrypted = self.relay.implicit_tls
                if not encrypted and smtp.has_extn("starttls"):
                    smtp.starttls(context=self.tls_context)
                    smtp.ehlo()
                    encrypted = True
                if self.relay.username:
                    if not encrypted and not self.login_without_tls:
                        raise PlaintextLoginRefused(
                            f"the relay {self.relay} offers no STARTTLS, so its password was not sent: "
                            "use a relay with TLS (smtps:// or STARTTLS), or set relay_login_without_tls = true "
                            "in [channels] to send it in clear"
                        )
                    smtp.login(self.relay.username, self.relay.password or "")
                refused = smtp.sendmail(envelope_from, [entry.recipient], raw)
        except PlaintextLoginRefused as error:
            raise TemporaryFailure(str(error)) from None
        except smtplib.SMTPAuthenticationError as error:
            raise TemporaryFailure(f"the relay refused our credentials: {_reply(error)}") from None
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()), (550, b"refused"))
            failure = PermanentFailure if code >= 500 else TemporaryFailure
            raise failure(f"the relay refused {entry.recipient}: {code} {_text(text)}") from None
        except smtplib.SMTPResponseException as error:
            failure = PermanentFailure if error.smtp_code >= 500 else TemporaryFailure
            raise failure(f"the relay answered {_reply(error)}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise TemporaryFailure(f"cannot reach the relay {self.relay}: {error}") from None
        if refused:
            raise PermanentFailure(f"the relay refused {', '.join(refused)}")


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _reply(error: smtplib.SMTPResponseException) -> str:
    return f"{error.smtp_code} {_text(error.smtp_error)}"
