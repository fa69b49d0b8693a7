"""The local store: tables, engine, migrations, full-text search, the query language and reads.

This package imports no other supportdesk layer. Its modules are imported directly
(``supportdesk.store.models``, ``supportdesk.store.reads`` …) so that a caller pays only for
what it uses: the read path never loads SQLModel.
"""
