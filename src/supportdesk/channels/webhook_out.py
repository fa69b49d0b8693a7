"""Delivering replies to a channel's outbound webhook with httpx.

The body is the JSON queued with the reply, with a fresh signed download link added to each of
its files at every attempt (:mod:`supportdesk.channels.file_urls`; without ``[channels]
public_url`` the files are listed with ``url: null``); it is signed like inbound webhooks (timestamp and
HMAC-SHA256, under the channel's outbound secret) and carries ``Idempotency-Key: <outbox key>``
so the platform can drop a repeat. 2xx is delivered; 408, 425, 429, 5xx and network errors are
retried; any other 4xx means the platform will never take it.
"""

from __future__ import annotations

import httpx

from supportdesk.channels.delivery import OutboxEntry, PermanentFailure, TemporaryFailure
from supportdesk.channels.settings import ChannelSettings
from supportdesk.channels.signing import sign_webhook

RETRIED = frozenset({408, 425, 429})


class WebhookSender:
    def __init__(self, settings: ChannelSettings, *, client: httpx.Client | None = None, timeout: float = 15.0) -> None:
        self.settings = settings
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, entry: OutboxEntry) -> None:
        hook = self.settings.webhook(entry.channel)
        if hook is None or not entry.recipient:
            raise PermanentFailure(f"the {entry.channel} webhook has no outbound_url")
        body = self._with_links(entry.payload).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": entry.key,
            **sign_webhook(hook.reply_secret, body),
        }
        try:
            response = self.client.post(entry.recipient, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise TemporaryFailure(f"cannot reach {entry.recipient}: {type(error).__name__}") from None
        if response.is_success:
            return
        failure = (
            TemporaryFailure if response.status_code >= 500 or response.status_code in RETRIED else PermanentFailure
        )
        raise failure(f"{entry.recipient} answered {response.status_code}")

    def _with_links(self, payload: str) -> str:
        if '"attachments"' not in payload:
            return payload
        import json

        from supportdesk.channels.file_urls import make_link
        from supportdesk.store.times import utcnow

        body = json.loads(payload)
        files = body.get("attachments")
        if not isinstance(files, list):
            return payload
        public_url = self.settings.public_url
        now = utcnow()
        for file in files:
            if public_url:
                file["url"], file["url_expires_at"] = make_link(
                    public_url,
                    self.settings.secret,
                    file["sha256"],
                    file["filename"],
                    now,
                    self.settings.file_url_minutes,
                )
            else:
                file["url"], file["url_expires_at"] = None, None
        return json.dumps(body, ensure_ascii=False)

    def close(self) -> None:
        self.client.close()
