"""``supportdesk serve``: open the database, build the app, plug the channels in, run uvicorn.

uvicorn reads requests through :mod:`supportdesk.server.timeouts` (deadlines for headers and
bodies) and trusts ``X-Forwarded-For`` only from ``forwarded_allow_ips``, so the client address
that limits and throttles count is the real one behind a proxy and cannot be forged around one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supportdesk.server.app import create_app
from supportdesk.server.db import open_database
from supportdesk.server.state import ServerConfig

if TYPE_CHECKING:
    from supportdesk.server.blobs import BlobOptions
    from supportdesk.server.channels import ChannelOptions
    from supportdesk.server.help import HelpSettings


def serve(
    db: str | None,
    host: str,
    port: int,
    config: ServerConfig | None = None,
    *,
    channels: ChannelOptions | None = None,
    blobs: BlobOptions | None = None,
    help_settings: HelpSettings | None = None,
    log_level: str = "info",
    forwarded_allow_ips: str = "127.0.0.1",
) -> None:
    """Serve until stopped; ``channels`` (from ``[channels]``) adds mail, webhooks and delivery,
    ``blobs`` (from ``[attachments]``) is the attachment store, ``help_settings`` (from
    ``[help]``) the help center at ``/help``."""
    import uvicorn

    from supportdesk.server import channels as channel_routes
    from supportdesk.server.timeouts import protocol_with_deadlines

    config = config or ServerConfig()
    database = open_database(db)
    app = create_app(database, config, blobs=blobs)
    channel_routes.install(app, channels)
    if help_settings is not None and help_settings.enabled:
        from supportdesk.server import help as help_center

        help_center.install(app, help_settings)
    if config.triage:
        from supportdesk.server import assist

        assist.install(app.state.server)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=3,
            http=protocol_with_deadlines(config.header_timeout, config.body_timeout),
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
        )
    finally:
        database.dispose()
