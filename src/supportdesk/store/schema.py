"""The schema revision this code expects, readable without importing Alembic.

Opening a workspace compares this with the file's ``alembic_version``; only when they differ is
Alembic loaded to upgrade it. A test keeps this equal to the migrations' head.
"""

HEAD_REVISION = "0028_attack13_search_races"
