"""The table the team server keeps for attachments (never synced to agents).

``blob_holder`` records who proved they hold a file's bytes by uploading them: an agent may name a
hash in a reply only when they uploaded it, or when a ticket they may see already names it — so
knowing a hash (from an old pull, from a group left since) never lets anyone attach, and then
download, another group's file.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from supportdesk.store.times import utcnow


class BlobHolder(SQLModel, table=True):
    """An agent who uploaded the file with this hash (the proof that they hold its bytes)."""

    __tablename__ = "blob_holder"

    sha256: str = Field(primary_key=True, max_length=64)
    agent_id: str = Field(primary_key=True, max_length=36)
    created_at: datetime = Field(default_factory=utcnow)


__all__ = ["BlobHolder"]
