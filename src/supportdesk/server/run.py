"""``supportdesk serve``: open the database, build the app, run uvicorn until stopped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from supportdesk.server.app import ROUTERS, WORKERS, ServerConfig, create_app
from supportdesk.server.db import open_database

if TYPE_CHECKING:
    from supportdesk.server.channels import ChannelOptions


def serve(
    db: str | None,
    host: str,
    port: int,
    config: ServerConfig | None = None,
    *,
    channels: ChannelOptions | None = None,
    log_level: str = "info",
) -> None:
    """Serve until stopped; ``channels`` (from ``[channels]``) adds mail, webhooks and delivery."""
    import uvicorn

    from supportdesk.server.channels import EMAIL_PATH, ServerChannels

    config = config or ServerConfig()
    if channels is not None:
        config.max_body_by_path[EMAIL_PATH] = channels.settings.limits.max_bytes
    plugged = ServerChannels(channels)
    database = open_database(db)
    app = create_app(database, config, routers=[*ROUTERS, plugged.router], workers=[*WORKERS, plugged.worker])
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, timeout_graceful_shutdown=3)
    finally:
        database.dispose()
