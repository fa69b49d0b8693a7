"""The JSON bodies chat, web-form and social platforms post to us (and nothing else).

Models forbid unknown fields and bound every size, so a payload either means exactly one thing or
is refused with the name of the field that was wrong.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Scalar = str | int | float | bool | None


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=200_000)


class ChatVisitor(Payload):
    id: str = Field(min_length=1, max_length=120, description="the platform's handle for the visitor")
    name: str | None = Field(default=None, max_length=300)
    email: str | None = Field(default=None, max_length=320)
    email_verified: bool = Field(default=False, description="the platform confirmed the visitor owns the email")


class ChatLine(Payload):
    id: str = Field(min_length=1, max_length=200)
    author: Literal["visitor", "agent", "bot"] = "visitor"
    author_name: str | None = Field(default=None, max_length=200)
    text: str = Field(min_length=1)
    sent_at: datetime | None = None


class ChatPayload(Payload):
    """Lines of one chat conversation (the whole transcript, or only the new lines)."""

    conversation_id: str = Field(min_length=1, max_length=200)
    visitor: ChatVisitor
    subject: str | None = Field(default=None, max_length=500)
    messages: list[ChatLine] = Field(min_length=1, max_length=500)


class WebformPayload(Payload):
    """One submitted contact form."""

    submission_id: str = Field(min_length=1, max_length=200)
    form: str = Field(default="contact", max_length=120)
    email: str = Field(max_length=320)
    name: str | None = Field(default=None, max_length=300)
    subject: str = Field(min_length=1, max_length=500)
    message: str = Field(min_length=1)
    fields: dict[str, Scalar] = Field(default_factory=dict, max_length=50)
    page_url: str | None = Field(default=None, max_length=2000)


class SocialPayload(Payload):
    """One message in a social-network thread (a mention, a reply, a direct message)."""

    network: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")
    thread_id: str = Field(min_length=1, max_length=200)
    message_id: str = Field(min_length=1, max_length=200)
    handle: str = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=300)
    text: str = Field(min_length=1)
    url: str | None = Field(default=None, max_length=2000)
    private: bool = False
    sent_at: datetime | None = None
