"""Local-only bookkeeping of the sync client (issue #4).

``outbox_touched`` remembers which rows each pending mutation changed optimistically, so that a
rebase can put exactly those rows back to the server's version before re-running what is still
pending — and a refused mutation leaves no trace of its optimistic effects.
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class OutboxTouched(SQLModel, table=True):
    __tablename__ = "outbox_touched"

    outbox_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    tbl: str = Field(primary_key=True, max_length=40)
    key: str = Field(primary_key=True, max_length=200)
