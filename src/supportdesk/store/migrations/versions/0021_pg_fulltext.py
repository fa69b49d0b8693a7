"""Full-text search on PostgreSQL (issue 13): GIN expression indexes over what a ticket says.

SQLite has its FTS5 index (``store/fts.py``); this migration does nothing there. On PostgreSQL the
team server searched free text with ``ILIKE`` (a scan of every ticket and message). Now:

- ``supportdesk_search_text(text)``: the text as SQLite's ``unicode61 remove_diacritics 2``
  tokenizer sees it — accents removed (``unaccent`` when the extension can be created; without
  it accents stay and a search must spell them) and every ASCII punctuation character a word
  break (PostgreSQL's parser would otherwise keep ``alice@example.com`` or ``v1.2`` as one word,
  where FTS5 finds ``alice``). Marked IMMUTABLE so indexes may use it.
- GIN indexes on ``to_tsvector('simple', supportdesk_search_text(…))`` of ``ticket.subject``,
  ``message.body``, ``customer.name`` and ``identity.value`` — the subject, messages and
  requester that FTS5 indexes as one ticket document. Expression indexes are kept current by
  PostgreSQL itself inside every write's transaction: no trigger, no stored column, nothing a
  bulk load could forget (``store/query/compiler.py`` queries the same expressions).

Building the indexes reads those tables once and blocks writes to them meanwhile: on a large
database run the upgrade (``supportdesk server init``) before starting the new version.

Revision ID: 0021_pg_fulltext
Revises: 0020_automations_time
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0021_pg_fulltext"
down_revision: str | None = "0020_automations_time"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every printable ASCII character that is not a letter or a digit: a word break, as in FTS5.
PUNCTUATION = "".join(chr(c) for c in range(33, 127) if not chr(c).isalnum())

INDEXES = {
    "ix_ticket_subject_search": ("ticket", "subject"),
    "ix_message_body_search": ("message", "body"),
    "ix_customer_name_search": ("customer", "name"),
    "ix_identity_value_search": ("identity", "value"),
}


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = None
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS unaccent"))
        schema = bind.execute(
            text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'")
        ).scalar()
    except Exception:  # not installed on this host, or this role may not create it: keep accents
        schema = None
    spaces = _literal(" " * len(PUNCTUATION))
    base = "coalesce(body, '')"
    if schema:
        # schema-qualified: an index is rebuilt (pg_restore, REINDEX) with an empty search_path
        base = f"{schema}.unaccent({_literal(schema + '.unaccent')}::regdictionary, {base})"
    # the punctuation as hex escapes: its ':' and '%' would otherwise read as bind parameters
    punctuation = "E'" + "".join(f"\\x{ord(c):02x}" for c in PUNCTUATION) + "'"
    bind.execute(
        text(
            "CREATE OR REPLACE FUNCTION supportdesk_search_text(body text) RETURNS text "
            "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS "
            f"$fn$ SELECT pg_catalog.translate({base}, {punctuation}, {spaces}) $fn$"
        )
    )
    for name, (table, column) in INDEXES.items():
        bind.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                f"USING gin (to_tsvector('simple'::regconfig, supportdesk_search_text({column})))"
            )
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for name in INDEXES:
        bind.execute(text(f"DROP INDEX IF EXISTS {name}"))
    bind.execute(text("DROP FUNCTION IF EXISTS supportdesk_search_text(text)"))
