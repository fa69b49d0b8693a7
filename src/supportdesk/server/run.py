"""``supportdesk serve``: open the database, build the app, plug the channels in, run uvicorn.

uvicorn reads requests through :mod:`supportdesk.server.timeouts` (deadlines for headers and
bodies) and trusts ``X-Forwarded-For`` only from ``forwarded_allow_ips``, so the client address
that limits and throttles count is the real one behind a proxy and cannot be forged around one.

Several worker processes (``--workers N``, PostgreSQL only) are uvicorn's own process manager:
it binds the port once, spawns N fresh interpreters and restarts one that dies. A spawned worker
shares nothing with the parent but its environment, so the parent writes what ``serve`` was
given — a :class:`ServeSpec`: the flags and the config file's sections, never a built object —
as JSON into ``SUPPORTDESK_SERVE_SPEC``, and each worker builds its own app from it with
:func:`app_from_environment` (the import string uvicorn calls). The parent migrates the
database once before spawning, so N workers never race to migrate it.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from supportdesk.server.db import DatabaseError, normalize_url, open_database
from supportdesk.server.state import ServerConfig
from supportdesk.server.timeouts import DeadlineProtocol

if TYPE_CHECKING:
    from fastapi import FastAPI

    from supportdesk.server.blobs import BlobOptions
    from supportdesk.server.channels import ChannelOptions
    from supportdesk.server.help import HelpSettings

SPEC_ENV = "SUPPORTDESK_SERVE_SPEC"
#: Seconds a worker may take to answer uvicorn's health check before it is killed and replaced.
#: uvicorn's 5 s killed every worker of a loaded two-core host while it was still importing
#: (load average 30: each restart started the import over, and the port never answered).
WORKER_HEALTHCHECK = 60
FACTORY = "supportdesk.server.run:app_from_environment"


@dataclass(frozen=True)
class ServeSpec:
    """Everything ``supportdesk serve`` was given, as plain values a worker can rebuild from."""

    db: str | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    #: The :class:`ServerConfig` fields.
    config: dict[str, Any] = field(default_factory=dict)
    #: The config file's ``[attachments]``, ``[channels]`` and ``[help]`` tables.
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    relay: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    outbox_interval: float = 2.0
    forwarded_allow_ips: str = "127.0.0.1"
    log_level: str = "info"
    workers: int = 1
    #: Connections each process keeps open to PostgreSQL (and as many more at a burst).
    pool_size: int = 10

    def server_config(self) -> ServerConfig:
        return ServerConfig(**self.config)

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.sections.get(name) or {})

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> ServeSpec:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class ServeOptions:
    """What the config file's tables and the flags make: channels, blob store, help center."""

    channels: ChannelOptions | None
    blobs: BlobOptions
    help_settings: HelpSettings


def options(spec: ServeSpec, *, check_smtp_port: bool = True) -> ServeOptions:
    """The options of ``spec``; a wrong setting is a one-line ``ConfigError`` (or ``ListenError``
    for a taken SMTP port, checked once by the parent: in a worker the port is its leader's)."""
    from supportdesk.server.blobs import blob_options
    from supportdesk.server.channels import channel_options
    from supportdesk.server.help import HelpSettings

    channel_section = spec.section("channels")
    blobs = blob_options(spec.section("attachments"), channels=channel_section, db=spec.db)
    channels = channel_options(
        channel_section,
        db=spec.db,
        relay=spec.relay,
        smtp_host=spec.smtp_host or spec.host,
        smtp_port=spec.smtp_port,
        interval=spec.outbox_interval,
        blobs=blobs,
        check_port=check_smtp_port,
    )
    secret = channel_section.get("secret") if isinstance(channel_section.get("secret"), str) else ""
    help_settings = HelpSettings.from_section(spec.section("help"), fallback_secret=secret or "")
    return ServeOptions(channels, blobs, help_settings)


def build_app(spec: ServeSpec, opts: ServeOptions, *, migrate: bool = True) -> FastAPI:
    """One process's app: its database (a pool of ``pool_size``), its state, its channels, help
    center and triage; the database is disposed when the app stops."""
    from supportdesk.server import channels as channel_routes
    from supportdesk.server.app import create_app

    config = spec.server_config()
    database = open_database(spec.db, migrate=migrate, pool_size=spec.pool_size)
    try:
        app = create_app(database, config, blobs=opts.blobs)
        # First in, so stopped last: every other worker stops before the pool closes.
        app.state.server.workers.insert(0, lambda _state: database.dispose)
        channel_routes.install(app, opts.channels)
        if opts.help_settings.enabled:
            from supportdesk.server import help as help_center

            help_center.install(app, opts.help_settings)
        if config.triage:
            from supportdesk.server import assist

            assist.install(app.state.server)
    except BaseException:
        database.dispose()
        raise
    return app


def app_from_environment() -> FastAPI:
    """The app of one worker process of ``serve --workers N`` (uvicorn's factory): built from
    ``SUPPORTDESK_SERVE_SPEC``, over a database the parent already migrated."""
    text = os.environ.get(SPEC_ENV)
    if not text:
        raise DatabaseError(f"{SPEC_ENV} is not set: start workers with 'supportdesk serve --workers N'")
    spec = ServeSpec.from_json(text)
    return build_app(spec, options(spec, check_smtp_port=False), migrate=False)


def check_workers(spec: ServeSpec) -> None:
    """Several workers need PostgreSQL: SQLite lets one process write at a time."""
    if spec.workers > 1 and not normalize_url(spec.db).startswith("postgresql"):
        raise WorkersError(
            f"--workers {spec.workers} needs a PostgreSQL database: SQLite serves from one process (use --workers 1)"
        )


class WorkersError(ValueError):
    """``--workers`` cannot be used with this database; the message says why."""


def serve(spec: ServeSpec) -> None:
    """Serve until stopped: in this process, or in ``spec.workers`` processes on PostgreSQL."""
    import uvicorn

    from supportdesk.server.request_log import log_config
    from supportdesk.server.timeouts import protocol_with_deadlines

    check_workers(spec)
    opts = options(spec)
    config = spec.server_config()
    common: dict[str, Any] = {
        "host": spec.host,
        "port": spec.port,
        "log_level": spec.log_level,
        "log_config": log_config(spec.log_level),
        "access_log": False,  # our own line per request instead (server/request_log.py)
        "timeout_graceful_shutdown": 3,
        "http": protocol_with_deadlines(config.header_timeout, config.body_timeout),
        "proxy_headers": True,
        "forwarded_allow_ips": spec.forwarded_allow_ips,
    }
    if spec.workers <= 1:
        uvicorn.run(build_app(spec, opts), **common)
        return
    open_database(spec.db, migrate=True, pool_size=1).dispose()
    os.environ[SPEC_ENV] = spec.to_json()
    # uvicorn hands its settings to each spawned worker pickled: the protocol goes by name.
    common["http"] = WorkerDeadlines
    uvicorn.run(FACTORY, factory=True, workers=spec.workers, timeout_worker_healthcheck=WORKER_HEALTHCHECK, **common)


@functools.cache
def _spec_deadlines() -> tuple[float, float]:
    spec = ServeSpec.from_json(os.environ.get(SPEC_ENV) or "{}").server_config()
    return spec.header_timeout, spec.body_timeout


class WorkerDeadlines(DeadlineProtocol):
    """The read deadlines of a worker of ``serve --workers N``, from its ``SUPPORTDESK_SERVE_SPEC``
    (a class made at run time, as one process uses, cannot cross to a spawned worker)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout, self.body_timeout = _spec_deadlines()
