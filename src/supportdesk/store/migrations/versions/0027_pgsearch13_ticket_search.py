"""One search document per ticket on PostgreSQL (issue 13): newest-first and ranked text search at 1M.

Migration 0021 indexed the subject, every message, the requester's name and each address with
four GIN expression indexes, and a search asked all four. A first page had to collect every
match of every index, then sort them (and a rare word was hash-joined against a scan of every
ticket): on 100,000 tickets 238 ms for a word in 14 % of them, 790 ms for a phrase, 62 ms for a
word in one — each growing with the table (bench/README.md, issue 13). No index could walk
tickets newest first and test each cheaply, because a ticket's text was spread over four tables
and never stored.

Now, as SQLite's FTS5 indexes it, a ticket's text is one document, stored:

- ``ticket_search(ticket_id, document)``: the ``tsvector`` of the subject (weight A), the
  requester's name and addresses (B) and the messages in order (D), with a one-position gap
  between the three so that a phrase never spans two of them (FTS5's columns; a phrase may run
  from one message into the next, as in FTS5's one body column); a GIN index on it.
  A common word is then answered by walking ``ix_ticket_created`` backwards and testing each
  ticket's stored document (a few hundred for a page), a rare one from the GIN index; the planner
  chooses from the document's statistics (kept ten times longer than the default, so that a rare
  word is known to be rare). ``sort:relevance`` is ``ts_rank`` over the same documents of the
  newest 1,000 matches (the weights are bm25's of the workspace: subject 5, people 2, messages 1).
- Triggers keep it current in the writing transaction, whatever writes: a ticket's subject or
  requester, a message added (appended to the document: the frequent write costs one message's
  words, as 0021's index did), edited, erased or moved by a merge (the document rebuilt), a
  customer renamed, an address added, changed, moved or removed. Bulk loaders switch triggers
  off and call ``supportdesk_rebuild_ticket_search()`` once (``bench/pg_load_demo.py``).
- A document PostgreSQL cannot hold (a ``tsvector`` is at most 1 MB) keeps the first 200,000
  characters of its messages, so a write never fails for its size.
- 0021's four expression indexes are dropped (nothing reads them now; each write paid for them);
  its ``supportdesk_search_text`` stays: documents and queries normalise text with it.

SQLite is untouched. Building the documents reads every ticket once (a million tickets with five
million messages: 17 minutes and 69 s for the GIN index on this project's loaded two cores): on
a large database run the upgrade (``supportdesk server init``) before starting the new version.

Revision ID: 0027_pgsearch13_ticket_search
Revises: 0026_attack20_token_notify
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0027_pgsearch13_ticket_search"
down_revision: str | None = "0026_attack20_token_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Statistics target of ``ticket_search.document`` (ANALYZE of a million documents: ~12 s here).
DOCUMENT_STATISTICS = 1000

#: Characters of a ticket's messages kept when the whole would overflow a ``tsvector``.
FALLBACK_BODY_CHARS = 200_000

OLD_INDEXES = {
    "ix_ticket_subject_search": ("ticket", "subject"),
    "ix_message_body_search": ("message", "body"),
    "ix_customer_name_search": ("customer", "name"),
    "ix_identity_value_search": ("identity", "value"),
}

STATEMENTS = [
    """
    CREATE TABLE ticket_search (
        ticket_id VARCHAR(36) PRIMARY KEY REFERENCES ticket(id) ON DELETE CASCADE,
        document tsvector NOT NULL
    )
    """,
    # the three parts of a document, weighted, a gap between them ('_' is no word a query can
    # hold); the messages last, so that a new one is appended (see the message trigger)
    f"""
    CREATE FUNCTION supportdesk_search_document(subject text, body text, people text) RETURNS tsvector
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
    DECLARE
        gap CONSTANT tsvector := '_:1'::tsvector;
        head tsvector := setweight(to_tsvector('simple'::regconfig, supportdesk_search_text(subject)), 'A') || gap
            || setweight(to_tsvector('simple'::regconfig, supportdesk_search_text(people)), 'B') || gap;
    BEGIN
        BEGIN
            RETURN head || to_tsvector('simple'::regconfig, supportdesk_search_text(body));
        EXCEPTION WHEN program_limit_exceeded THEN
            RETURN head || to_tsvector('simple'::regconfig, supportdesk_search_text(left(body, {FALLBACK_BODY_CHARS})));
        END;
    END $fn$
    """,
    """
    CREATE FUNCTION supportdesk_refresh_ticket_search(wanted VARCHAR) RETURNS void
    LANGUAGE sql VOLATILE AS $fn$
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
        ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document
    $fn$
    """,
    """
    CREATE FUNCTION supportdesk_rebuild_ticket_search() RETURNS void
    LANGUAGE sql VOLATILE AS $fn$
        TRUNCATE ticket_search;
        INSERT INTO ticket_search (ticket_id, document)
        SELECT t.id, supportdesk_search_document(t.subject, coalesce(b.body, ''),
                                                 coalesce(c.name, '') || E'\\n' || coalesce(p.people, ''))
          FROM ticket t
          LEFT JOIN customer c ON c.id = t.requester_id
          LEFT JOIN (SELECT m.ticket_id, string_agg(m.body, E'\\n' ORDER BY m.created_at, m.id) AS body
                       FROM message m GROUP BY m.ticket_id) b ON b.ticket_id = t.id
          LEFT JOIN (SELECT i.customer_id, string_agg(i.value, ' ' ORDER BY i.created_at, i.id) AS people
                       FROM identity i GROUP BY i.customer_id) p ON p.customer_id = t.requester_id;
    $fn$
    """,
    """
    CREATE FUNCTION supportdesk_ticket_search_on_ticket() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        PERFORM supportdesk_refresh_ticket_search(NEW.id);
        RETURN NULL;
    END $fn$
    """,
    # a new message (a reply, a note, a customer's mail: the write that happens all the time) is
    # appended: ``||`` numbers its words on from the document's last, exactly as a rebuild that
    # joins the messages would; only an edit, a removal or a move rebuilds the document
    """
    CREATE FUNCTION supportdesk_ticket_search_on_message() RETURNS trigger LANGUAGE plpgsql AS $fn$
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
    """,
    """
    CREATE FUNCTION supportdesk_ticket_search_on_customer() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        PERFORM supportdesk_refresh_ticket_search(t.id) FROM ticket t WHERE t.requester_id = NEW.id;
        RETURN NULL;
    END $fn$
    """,
    """
    CREATE FUNCTION supportdesk_ticket_search_on_identity() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM supportdesk_refresh_ticket_search(t.id) FROM ticket t WHERE t.requester_id = OLD.customer_id;
        END IF;
        IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.customer_id IS DISTINCT FROM OLD.customer_id) THEN
            PERFORM supportdesk_refresh_ticket_search(t.id) FROM ticket t WHERE t.requester_id = NEW.customer_id;
        END IF;
        RETURN NULL;
    END $fn$
    """,
    # an UPDATE refreshes only when what the document holds changed (a status change touches none)
    "CREATE TRIGGER ticket_search_ticket_insert AFTER INSERT ON ticket "
    "FOR EACH ROW EXECUTE FUNCTION supportdesk_ticket_search_on_ticket()",
    "CREATE TRIGGER ticket_search_ticket_update AFTER UPDATE OF subject, requester_id ON ticket FOR EACH ROW "
    "WHEN (OLD.subject IS DISTINCT FROM NEW.subject OR OLD.requester_id IS DISTINCT FROM NEW.requester_id) "
    "EXECUTE FUNCTION supportdesk_ticket_search_on_ticket()",
    "CREATE TRIGGER ticket_search_message_insert_delete AFTER INSERT OR DELETE ON message "
    "FOR EACH ROW EXECUTE FUNCTION supportdesk_ticket_search_on_message()",
    "CREATE TRIGGER ticket_search_message_update AFTER UPDATE OF body, ticket_id ON message FOR EACH ROW "
    "WHEN (OLD.body IS DISTINCT FROM NEW.body OR OLD.ticket_id IS DISTINCT FROM NEW.ticket_id) "
    "EXECUTE FUNCTION supportdesk_ticket_search_on_message()",
    "CREATE TRIGGER ticket_search_customer_update AFTER UPDATE OF name ON customer FOR EACH ROW "
    "WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION supportdesk_ticket_search_on_customer()",
    "CREATE TRIGGER ticket_search_identity_insert_delete AFTER INSERT OR DELETE ON identity "
    "FOR EACH ROW EXECUTE FUNCTION supportdesk_ticket_search_on_identity()",
    "CREATE TRIGGER ticket_search_identity_update AFTER UPDATE OF value, customer_id ON identity FOR EACH ROW "
    "WHEN (OLD.value IS DISTINCT FROM NEW.value OR OLD.customer_id IS DISTINCT FROM NEW.customer_id) "
    "EXECUTE FUNCTION supportdesk_ticket_search_on_identity()",
    "SELECT supportdesk_rebuild_ticket_search()",
    "CREATE INDEX ix_ticket_search_document ON ticket_search USING gin (document)",
    # A word missing from the statistics' most common words is estimated at half the rarest
    # listed one's frequency: with the default 100 that was 0.4 % — 3,900 of a million tickets
    # for a word in 10 —, the planner walked every ticket newest first looking for 51 matches
    # (9 s). A list ten times longer puts such a word at ~200: the GIN index, in milliseconds.
    f"ALTER TABLE ticket_search ALTER COLUMN document SET STATISTICS {DOCUMENT_STATISTICS}",
]

TRIGGERS = {
    "ticket_search_ticket_insert": "ticket",
    "ticket_search_ticket_update": "ticket",
    "ticket_search_message_insert_delete": "message",
    "ticket_search_message_update": "message",
    "ticket_search_customer_update": "customer",
    "ticket_search_identity_insert_delete": "identity",
    "ticket_search_identity_update": "identity",
}

DROPPED = [
    *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in TRIGGERS.items()),
    "DROP TABLE IF EXISTS ticket_search",
    "DROP FUNCTION IF EXISTS supportdesk_ticket_search_on_ticket()",
    "DROP FUNCTION IF EXISTS supportdesk_ticket_search_on_message()",
    "DROP FUNCTION IF EXISTS supportdesk_ticket_search_on_customer()",
    "DROP FUNCTION IF EXISTS supportdesk_ticket_search_on_identity()",
    "DROP FUNCTION IF EXISTS supportdesk_rebuild_ticket_search()",
    "DROP FUNCTION IF EXISTS supportdesk_refresh_ticket_search(VARCHAR)",
    "DROP FUNCTION IF EXISTS supportdesk_search_document(text, text, text)",
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for statement in STATEMENTS:
        bind.execute(text(statement))
    for name in OLD_INDEXES:
        bind.execute(text(f"DROP INDEX IF EXISTS {name}"))
    bind.execute(text("ANALYZE ticket_search"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for statement in DROPPED:
        bind.execute(text(statement))
    for name, (table, column) in OLD_INDEXES.items():
        bind.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                f"USING gin (to_tsvector('simple'::regconfig, supportdesk_search_text({column})))"
            )
        )
