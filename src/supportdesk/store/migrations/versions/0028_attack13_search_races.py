"""PostgreSQL's ticket search documents stay equal to a rebuild under concurrent writes (issue 13).

Migration 0027's triggers lost words in two ways (``tests/server/test_pg_search_races.py``):

- A rebuild (a message edited or moved by a merge, the requester renamed…) read the ticket's
  messages with the snapshot its statement started with, then wrote the document with ``INSERT …
  ON CONFLICT DO UPDATE``. A reply appended meanwhile by another transaction held the row: the
  rebuild waited for it, then overwrote the document with one computed before the reply existed —
  the reply's words were no longer found, until some later rebuild of that ticket.
  ``supportdesk_refresh_ticket_search`` now locks the document row first and only then reads
  (PL/pgSQL takes a new snapshot for each statement at READ COMMITTED, after the lock).
- A new message was always appended at the end of the document, while a rebuild orders the
  messages by time: a message older than the ticket's last (a mail imported with its date, an
  offline agent's note pushed later, two replies committed in the other order) put its words where
  no rebuild would, so a phrase across it matched or not depending on the ticket's history. The
  message trigger now locks the document, then appends only when no message of the ticket comes
  after the new one (one probe of ``ix_message_ticket_created``) and rebuilds otherwise.

Nothing else changes: the same tables, indexes and documents. Downgrading puts back 0027's two
functions.

Revision ID: 0028_attack13_search_races
Revises: 0027_pgsearch13_ticket_search
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0028_attack13_search_races"
down_revision: str | None = "0027_pgsearch13_ticket_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The ticket's document as 0027 builds it, upserted; ``{}`` is what precedes it in the body.
_UPSERT = """
        INSERT INTO ticket_search (ticket_id, document)
        SELECT t.id, supportdesk_search_document(
                   t.subject,
                   coalesce((SELECT string_agg(m.body, E'\\n' ORDER BY m.created_at, m.id)
                               FROM message m WHERE m.ticket_id = t.id), ''),
                   coalesce(c.name, '') || E'\\n' ||
                   coalesce((SELECT string_agg(i.value, ' ' ORDER BY i.created_at, i.id)
                               FROM identity i WHERE i.customer_id = t.requester_id), ''))
          FROM ticket t LEFT JOIN customer c ON c.id = t.requester_id
         WHERE t.id = wanted
        ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document"""

REFRESH = f"""
    CREATE OR REPLACE FUNCTION supportdesk_refresh_ticket_search(wanted VARCHAR) RETURNS void
    LANGUAGE plpgsql VOLATILE AS $fn$
    BEGIN
        -- the lock first: a writer appending to this document commits before the read below,
        -- whose snapshot is taken after the lock, so its message is in the rebuilt document
        PERFORM 1 FROM ticket_search WHERE ticket_id = wanted FOR UPDATE;
        {_UPSERT};
    END $fn$
    """

ON_MESSAGE = """
    CREATE OR REPLACE FUNCTION supportdesk_ticket_search_on_message() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            -- locked before looking for later messages: two replies to one ticket take turns, and
            -- the second sees the first once it is committed
            PERFORM 1 FROM ticket_search WHERE ticket_id = NEW.ticket_id FOR UPDATE;
            IF FOUND AND NOT EXISTS (
                SELECT 1 FROM message m
                 WHERE m.ticket_id = NEW.ticket_id AND m.id <> NEW.id
                   AND (m.created_at > NEW.created_at OR (m.created_at = NEW.created_at AND m.id > NEW.id))
            ) THEN
                BEGIN
                    UPDATE ticket_search
                       SET document = document || to_tsvector('simple'::regconfig, supportdesk_search_text(NEW.body))
                     WHERE ticket_id = NEW.ticket_id;
                    RETURN NULL;
                EXCEPTION WHEN program_limit_exceeded THEN
                    NULL;  -- too large to append to: rebuilt below, which keeps what fits
                END;
            END IF;
            -- no document yet, a message earlier than the last one, or too large: rebuilt in order
            PERFORM supportdesk_refresh_ticket_search(NEW.ticket_id);
            RETURN NULL;
        END IF;
        PERFORM supportdesk_refresh_ticket_search(OLD.ticket_id);
        IF TG_OP = 'UPDATE' AND NEW.ticket_id IS DISTINCT FROM OLD.ticket_id THEN
            PERFORM supportdesk_refresh_ticket_search(NEW.ticket_id);
        END IF;
        RETURN NULL;
    END $fn$
    """

#: 0027's functions, put back by a downgrade.
REFRESH_0027 = f"""
    CREATE OR REPLACE FUNCTION supportdesk_refresh_ticket_search(wanted VARCHAR) RETURNS void
    LANGUAGE sql VOLATILE AS $fn$
        {_UPSERT}
    $fn$
    """

ON_MESSAGE_0027 = """
    CREATE OR REPLACE FUNCTION supportdesk_ticket_search_on_message() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            BEGIN
                UPDATE ticket_search
                   SET document = document || to_tsvector('simple'::regconfig, supportdesk_search_text(NEW.body))
                 WHERE ticket_id = NEW.ticket_id;
                IF FOUND THEN
                    RETURN NULL;
                END IF;
            EXCEPTION WHEN program_limit_exceeded THEN
                NULL;  -- too large to append to: rebuilt below, which keeps what fits
            END;
            PERFORM supportdesk_refresh_ticket_search(NEW.ticket_id);
            RETURN NULL;
        END IF;
        PERFORM supportdesk_refresh_ticket_search(OLD.ticket_id);
        IF TG_OP = 'UPDATE' AND NEW.ticket_id IS DISTINCT FROM OLD.ticket_id THEN
            PERFORM supportdesk_refresh_ticket_search(NEW.ticket_id);
        END IF;
        RETURN NULL;
    END $fn$
    """


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.execute(text(REFRESH))
    bind.execute(text(ON_MESSAGE))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.execute(text(REFRESH_0027))
    bind.execute(text(ON_MESSAGE_0027))
