"""``supportdesk serve``: open the database, build the app, run uvicorn until stopped."""

from __future__ import annotations

from supportdesk.server.app import ServerConfig, create_app
from supportdesk.server.db import open_database


def serve(db: str | None, host: str, port: int, config: ServerConfig | None = None, *, log_level: str = "info") -> None:
    import uvicorn

    database = open_database(db)
    app = create_app(database, config)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, timeout_graceful_shutdown=3)
    finally:
        database.dispose()
