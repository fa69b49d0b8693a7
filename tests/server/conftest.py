from collections.abc import Iterator
from pathlib import Path

import pytest

from supportdesk.server.db import ServerDatabase, open_database
from tests.live import deployment, pg_deployment, server_database, sqlite_deployment

__all__ = ["database", "deployment", "pg_deployment", "sqlite_deployment"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerDatabase]:
    """A migrated server database, opened in this process, on each backend. A module whose
    tests need one backend narrows it with
    ``pytestmark = [pytest.mark.parametrize("database", ["sqlite"], indirect=True)]``."""
    with server_database(request.param, tmp_path) as url:
        opened = open_database(url)
        try:
            yield opened
        finally:
            opened.dispose()
