"""The query language shared by the console's filter bar, the CLI and saved views."""

from supportdesk.store.query.compiler import BM25, PG_RANK, Compiled, compile_query, fts_token
from supportdesk.store.query.parser import FIELDS, SORTS, Query, QueryError, Term, parse

__all__ = [
    "BM25",
    "FIELDS",
    "PG_RANK",
    "SORTS",
    "Compiled",
    "Query",
    "QueryError",
    "Term",
    "compile_query",
    "fts_token",
    "parse",
]
