"""``supportdesk serve``, ``supportdesk server …`` (administration), ``login`` and ``sync``.

FastAPI, uvicorn and httpx are imported inside the commands, so ``--help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from supportdesk.cli.options import JsonOpt
from supportdesk.cli.state import STATE

#: ``serve --token-cache``'s default: :data:`supportdesk.server.token_cache.TTL` (written here,
#: so that ``--help`` imports no server code). On PostgreSQL every process forgets its checks
#: when a change NOTIFYs (milliseconds); the TTL bounds only a change whose NOTIFY was lost.
TOKEN_CACHE_SECONDS = 5.0

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Connection

    from supportdesk.sync.engine import Refusal

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Server database: a SQLite file (default ./supportdesk-server.db) or postgresql://user@host/db.",
        envvar="SUPPORTDESK_DB",
        show_default=False,
    ),
]

app = typer.Typer(help="Administer a team server's database (groups, agents, tokens).", no_args_is_help=True)
group_app = typer.Typer(help="Groups of agents.", no_args_is_help=True)
agent_app = typer.Typer(help="Agents.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)
app.add_typer(group_app, name="group")
app.add_typer(agent_app, name="agent")
app.add_typer(token_app, name="token")
webhook_app = typer.Typer(help="Outgoing webhooks: endpoints told about events, signed.", no_args_is_help=True)
app.add_typer(webhook_app, name="webhook")


def _database(db: str | None):  # type: ignore[no-untyped-def]
    from supportdesk.cli.errors import SERVER, fail
    from supportdesk.server.db import DatabaseError, open_database

    try:
        return open_database(db)
    except DatabaseError as error:
        fail(str(error), SERVER)


def serve(
    db: DbOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.", envvar="SUPPORTDESK_HOST")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.", envvar="SUPPORTDESK_PORT")
    ] = 8765,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Server processes (uvicorn's process manager); above 1 needs PostgreSQL.",
            envvar="SUPPORTDESK_WORKERS",
        ),
    ] = 1,
    pool_size: Annotated[
        int,
        typer.Option(
            "--pool-size",
            min=1,
            max=200,
            help="PostgreSQL connections each process keeps open (as many more at a burst).",
            envvar="SUPPORTDESK_POOL_SIZE",
        ),
    ] = 10,
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level",
            help="critical, error, warning, info, debug or trace.",
            envvar="SUPPORTDESK_LOG_LEVEL",
        ),
    ] = "info",
    rate: Annotated[
        float,
        typer.Option("--rate-limit", min=0, help="Requests/s per token (0: none).", envvar="SUPPORTDESK_RATE_LIMIT"),
    ] = 100.0,
    burst: Annotated[
        int, typer.Option("--burst", min=1, help="Requests a token may send at once.", envvar="SUPPORTDESK_BURST")
    ] = 400,
    keepalive: Annotated[
        float,
        typer.Option("--keepalive", min=0.1, help="Seconds between SSE keep-alives.", envvar="SUPPORTDESK_KEEPALIVE"),
    ] = 15.0,
    smtp_port: Annotated[
        int | None,
        typer.Option(
            "--smtp-port",
            min=1,
            max=65535,
            help="Also receive mail over SMTP on this port ([channels]).",
            envvar="SUPPORTDESK_SMTP_PORT",
        ),
    ] = None,
    smtp_host: Annotated[
        str | None,
        typer.Option(
            "--smtp-host", help="Address the SMTP listener binds (default: --host).", envvar="SUPPORTDESK_SMTP_HOST"
        ),
    ] = None,
    relay: Annotated[
        str | None,
        typer.Option(
            "--relay",
            help="SMTP relay for outgoing mail, smtp://user:pass@host:port (overrides [channels] relay).",
            envvar="SUPPORTDESK_RELAY",
            show_default=False,
        ),
    ] = None,
    outbox_interval: Annotated[
        float,
        typer.Option(
            "--outbox-interval",
            min=0.05,
            help="Seconds between looks at the outbox.",
            envvar="SUPPORTDESK_OUTBOX_INTERVAL",
        ),
    ] = 2.0,
    feedback_limit: Annotated[
        int,
        typer.Option(
            "--feedback-limit",
            min=0,
            help="Survey requests a minute per address (0: none).",
            envvar="SUPPORTDESK_FEEDBACK_LIMIT",
        ),
    ] = 30,
    auth_failures: Annotated[
        int,
        typer.Option(
            "--auth-failures",
            min=0,
            help="Requests with a bad token a minute per client address before it gets 429 (0: no limit).",
            envvar="SUPPORTDESK_AUTH_FAILURES",
        ),
    ] = 30,
    streams_per_token: Annotated[
        int,
        typer.Option(
            "--streams-per-token",
            min=0,
            help="Open event streams (SSE) per token and server process; one more gets 429 (0: no limit).",
            envvar="SUPPORTDESK_STREAMS_PER_TOKEN",
        ),
    ] = 4,
    header_timeout: Annotated[
        float,
        typer.Option(
            "--header-timeout",
            min=0,
            help="Seconds a client may take to send a request's headers (0: no limit).",
            envvar="SUPPORTDESK_HEADER_TIMEOUT",
        ),
    ] = 10.0,
    body_timeout: Annotated[
        float,
        typer.Option(
            "--body-timeout",
            min=0,
            help="Seconds a client may take to send a request's body (0: no limit).",
            envvar="SUPPORTDESK_BODY_TIMEOUT",
        ),
    ] = 120.0,
    triage: Annotated[
        bool,
        typer.Option(
            "--triage/--no-triage",
            help="Triage every new ticket (language, sentiment, intent) with the offline models.",
            envvar="SUPPORTDESK_TRIAGE",
        ),
    ] = True,
    intents: Annotated[
        Path | None,
        typer.Option(
            "--intents",
            metavar="FILE",
            help="The intents YAML triage classifies into (default: the shipped set); re-read when it changes.",
            envvar="SUPPORTDESK_INTENTS",
            show_default=False,
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            "--forwarded-allow-ips",
            help="Proxies whose X-Forwarded-For names the client (comma-separated addresses, or '*').",
            envvar="SUPPORTDESK_FORWARDED_ALLOW_IPS",
        ),
    ] = "127.0.0.1",
    webhook_retry: Annotated[
        float,
        typer.Option(
            "--webhook-retry",
            min=0.05,
            help="Seconds before a failed webhook delivery's first retry (doubling each time, at most an hour).",
            envvar="SUPPORTDESK_WEBHOOK_RETRY",
        ),
    ] = 10.0,
    automation_interval: Annotated[
        float,
        typer.Option(
            "--automation-interval",
            min=0,
            help="Seconds between runs of the time-based automations (0: off).",
            envvar="SUPPORTDESK_AUTOMATION_INTERVAL",
        ),
    ] = 300.0,
    token_cache: Annotated[
        float,
        typer.Option(
            "--token-cache",
            min=0,
            max=300,
            help="PostgreSQL: seconds a process reuses a token's check (0: look it up on every request). "
            "A revocation or an agent's change still works at once: every process is told through "
            "NOTIFY; this bounds only a change whose NOTIFY was lost.",
            envvar="SUPPORTDESK_TOKEN_CACHE",
        ),
    ] = TOKEN_CACHE_SECONDS,
) -> None:
    """Run the team server (FastAPI + uvicorn); GET /v1/health answers when it is ready.

    With a [channels] table in the config file it also takes mail and webhooks and delivers
    agents' replies; the help center for customers is at /help, branded by [help] (see the README).
    On PostgreSQL, --workers N runs N processes on one port; every flag also reads its
    SUPPORTDESK_* variable (shown below), so a systemd unit can keep them in an environment file.
    Example: supportdesk serve --db postgresql://support@localhost/supportdesk --workers 4 --smtp-port 2525
    """
    from supportdesk.cli.errors import SERVER, fail
    from supportdesk.config import ConfigError
    from supportdesk.server.channels import ListenError
    from supportdesk.server.db import DatabaseError
    from supportdesk.server.run import ServeSpec, WorkersError
    from supportdesk.server.run import serve as run_server

    levels = ("critical", "error", "warning", "info", "debug", "trace")
    if log_level.lower() not in levels:
        fail(f"--log-level {log_level!r}: use one of {', '.join(levels)}")
    if intents is not None and triage:
        from supportdesk.assist.intents import IntentFileError, load_file

        try:
            load_file(intents)
        except IntentFileError as error:
            fail(str(error))
    settings = STATE.settings
    spec = ServeSpec(
        db=db,
        host=host,
        port=port,
        config={
            "rate": rate,
            "burst": burst,
            "keepalive": keepalive,
            "feedback_limit": feedback_limit,
            "auth_failures": auth_failures,
            "streams_per_token": streams_per_token,
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "triage": triage,
            "intents_file": str(intents.resolve()) if intents is not None else None,
            "webhook_retry_base": webhook_retry,
            "token_cache": token_cache,
            "automation_interval": automation_interval,
        },
        sections={name: settings.section(name) for name in ("attachments", "channels", "help")},
        relay=relay,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        outbox_interval=outbox_interval,
        forwarded_allow_ips=forwarded_allow_ips,
        log_level=log_level.lower(),
        workers=workers,
        pool_size=pool_size,
    )
    try:
        run_server(spec)
    except WorkersError as error:
        fail(str(error))
    except ConfigError as error:
        fail(f"{settings.config_file}: {error}")
    except (DatabaseError, ListenError) as error:
        fail(str(error), SERVER)


@app.command("init")
def init(db: DbOpt = None) -> None:
    """Create or upgrade the server database.

    Example: supportdesk server init --db /srv/supportdesk/server.db
    """
    database = _database(db)
    typer.echo(f"Server database ready ({database.dialect}).")
    database.dispose()


def _compact_wait(value: float) -> float:
    """A number of seconds, 0 to a day: nan and inf (which click's float takes) waited for ever."""
    from supportdesk.server.erasure import checked_wait

    try:
        return checked_wait(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


@app.command("compact")
def compact(
    db: DbOpt = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            help="PostgreSQL: seconds to wait for transactions begun before the compact to end.",
            envvar="SUPPORTDESK_COMPACT_WAIT",
            callback=_compact_wait,
        ),
    ] = 60.0,
) -> None:
    """Rewrite the tables that hold customers' data, so no old row version keeps erased text.

    On PostgreSQL this runs VACUUM FULL and ANALYZE over them, then rewrites pg_statistic (the
    planner's samples of values): each table is locked while it is rewritten, so run it at a quiet
    hour after erasing customers. It first waits up to a minute for transactions begun before it
    (a report, a backup) to end, and names any still open. On SQLite it runs VACUUM and folds the log.
    Example: supportdesk server compact --db postgresql://supportdesk@db.internal/supportdesk
    """
    from supportdesk.server.erasure import compact as compact_tables

    database = _database(db)
    try:
        done = compact_tables(database, wait=wait)
    finally:
        database.dispose()
    what = "every table" if done.tables == ("*",) else f"{len(done.tables)} tables"
    typer.echo(f"Compacted {what} ({database.dialect}).")
    if not done.log_folded:
        from supportdesk.cli.errors import print_warning

        print_warning("a reader kept the write-ahead log from being folded in; run it again when the server is idle")
    if not done.statistics_rewritten:
        from supportdesk.cli.errors import print_warning

        print_warning("pg_statistic was not rewritten: run compact as the database's owner to drop erased samples")
    if done.held_by:
        from supportdesk.cli.errors import print_warning

        print_warning(
            f"{len(done.held_by)} transaction(s) older than the compact kept erased row versions "
            f"(pid {', '.join(done.held_by)}); run it again when they have ended"
        )


@group_app.command("add")
def group_add(
    name: Annotated[str, typer.Argument(help="The group's name, e.g. 'Tier 1'.")],
    email: Annotated[str | None, typer.Option("--email", help="The group's support address.")] = None,
    db: DbOpt = None,
) -> None:
    """Add a group.

    Example: supportdesk server group add Billing --email billing@example.com
    """
    from supportdesk.server.admin import add_group

    database = _database(db)
    group_id = add_group(database, name, email)
    typer.echo(f"Group {name} added ({group_id}).")


@agent_app.command("add")
def agent_add(
    name: Annotated[str, typer.Argument(help="The agent's full name.")],
    email: Annotated[str, typer.Option("--email", help="The agent's address (their login).")],
    role: Annotated[str, typer.Option("--role", help="admin, agent or light_agent.")] = "agent",
    group: Annotated[list[str] | None, typer.Option("--group", help="A group (name or id); repeatable.")] = None,
    db: DbOpt = None,
) -> None:
    """Add an agent with a role and groups.

    Example: supportdesk server agent add 'Dana Scully' --email dana@example.com --role agent --group Billing
    """
    from supportdesk.cli.errors import fail
    from supportdesk.server.admin import add_agent

    if role not in ("admin", "agent", "light_agent"):
        fail(f"{role!r} is not a role: choose admin, agent or light_agent")
    database = _database(db)
    agent_id = add_agent(database, name, email, role, group or [])
    typer.echo(f"Agent {name} added ({agent_id}).")


@agent_app.command("update")
def agent_update(
    agent: Annotated[str, typer.Argument(help="The agent's address (or id).")],
    role: Annotated[str | None, typer.Option("--role", help="admin, agent or light_agent.")] = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", help="Their groups from now on (name or id); repeatable.")
    ] = None,
    no_groups: Annotated[bool, typer.Option("--no-groups", help="Take them out of every group.")] = False,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Whether they may sign in.", show_default=False)
    ] = None,
    db: DbOpt = None,
) -> None:
    """Change an agent's role or groups, or deactivate them; their workspaces follow at the next sync.

    Example: supportdesk server agent update dana@example.com --group Billing --group 'Tier 1'
    """
    from supportdesk.cli.errors import fail
    from supportdesk.server.admin import update_agent

    if role is not None and role not in ("admin", "agent", "light_agent"):
        fail(f"{role!r} is not a role: choose admin, agent or light_agent")
    if no_groups and group:
        fail("--group and --no-groups cannot be used together")
    if role is None and group is None and not no_groups and active is None:
        fail("nothing to change: give --role, --group, --no-groups or --active/--inactive")
    database = _database(db)
    groups = [] if no_groups else group
    changed = update_agent(database, agent, role=role, groups=groups, active=active)
    typer.echo(f"Agent {agent} updated" + (f" ({', '.join(changed)})." if changed else "."))


@token_app.command("create")
def token_create(
    agent: Annotated[str, typer.Argument(help="The agent: email, name or id.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for, e.g. 'laptop'.")] = "",
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            metavar="LIFETIME|DATE",
            help="When the token stops working: a lifetime (12h, 90d, 8w, 1y) or a date (2027-01-01, UTC).",
            show_default=False,
        ),
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option(
            "--scope",
            metavar="SCOPES",
            help="For a machine: only these, comma-separated (tickets:read, tickets:write, customers:read, "
            "customers:write, kb:read, kb:write, admin); such a token cannot sync. Default: a full token.",
            show_default=False,
        ),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(
            "--group", help="Only tickets of this group (repeat for more; needs --scope).", show_default=False
        ),
    ] = None,
    rate: Annotated[
        int | None,
        typer.Option(
            "--rate", min=1, help="Requests a minute for this token (default: the server's limit).", show_default=False
        ),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Make an API token for an agent. It is printed once; the server keeps only its hash.

    Example: supportdesk server token create dana@example.com --name laptop --expires 90d

    Example: supportdesk server token create shop@example.com --name shop --scope tickets:write --group Billing
    """
    from supportdesk.cli.errors import fail
    from supportdesk.server.admin import new_token
    from supportdesk.server.scopes import ScopeError, parse_scopes
    from supportdesk.server.tokens import TokenError, parse_expiry

    try:
        expires_at = parse_expiry(expires) if expires is not None else None
        scopes = parse_scopes(scope) if scope is not None else None
    except (TokenError, ScopeError) as error:
        fail(str(error))
    database = _database(db)
    try:
        token_id, token = new_token(
            database, agent, name, expires_at=expires_at, scopes=scopes, groups=group, rate_per_minute=rate
        )
    except ScopeError as error:
        fail(str(error))
    typer.echo(token)
    until = f"; it expires at {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
    typer.echo(f"token id {token_id}: store the token now, it is not shown again{until}", err=True)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[
        str | None, typer.Argument(help="The token's whole id, as 'server token list' shows it.")
    ] = None,
    agent: Annotated[str | None, typer.Option("--agent", help="Revoke every token of this agent.")] = None,
    db: DbOpt = None,
) -> None:
    """Revoke a token (by id) or every token of an agent; they stop working at once.

    Example: supportdesk server token revoke --agent dana@example.com
    """
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.server.admin import revoke_tokens

    if not token_id and not agent:
        fail("name a token id or --agent")
    database = _database(db)
    count = revoke_tokens(database, token_id=token_id, agent_ref=agent)
    if count == 0:
        fail("no live token matched", NOT_FOUND)
    typer.echo(f"Revoked {count} token(s).")


#: New columns go last: scripts read the first ones by position.
TOKEN_COLUMNS = ["id", "agent", "name", "created_at", "last_used_at", "expires_at", "revoked_at"]
TOKEN_COLUMNS += ["scopes", "group_ids", "rate_per_minute"]


@token_app.command("list")
def token_list(db: DbOpt = None) -> None:
    """List tokens (never the tokens themselves) with their last use, expiry and revocation.

    Example: supportdesk server token list --db postgresql://supportdesk@db.internal/supportdesk
    """
    from supportdesk.cli.output import Format, emit_records
    from supportdesk.server.admin import list_tokens

    database = _database(db)
    emit_records(
        list_tokens(database),
        TOKEN_COLUMNS,
        Format.PLAIN,
    )


@app.command("mailboxes")
def mailboxes(
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The IMAP mailboxes of [[channels.imap]] and how reading each one goes.

    Shows what was taken, what was kept aside and the last error of each; exits 1 when a
    mailbox's last attempt failed (for a monitoring check).
    Example: supportdesk server mailboxes --db /srv/supportdesk/server.db
    """
    from supportdesk.channels.imap_settings import parse_imap
    from supportdesk.channels.imap_state import status
    from supportdesk.cli.errors import PARTIAL, fail
    from supportdesk.cli.output import Format, emit_records
    from supportdesk.config import ConfigError

    settings = STATE.settings
    try:
        configured = parse_imap(settings.section("channels").get("imap"))
    except ConfigError as error:
        fail(f"{settings.config_file}: {error}")
    if not configured:
        fail(f"{settings.config_file} has no [[channels.imap]] mailbox (see the README, Channels)")
    database = _database(db)
    try:
        report = status(database.engine, configured)
    finally:
        database.dispose()
    fields = ["address", "mailbox", "after_fetch", "ingested", "kept_aside", "checked_at", "last_error"]
    emit_records(report, list(report[0]) if as_json else fields, Format.JSON if as_json else Format.PLAIN)
    if any(row["last_error"] for row in report):
        raise typer.Exit(PARTIAL)


#: Ours are 47 characters; a value much longer is a paste gone wrong, not a token.
MAX_TOKEN_LENGTH = 256


def _read_token() -> str:
    import os
    import sys

    from supportdesk.cli.errors import fail

    if sys.stdin.isatty():
        token = str(typer.prompt("API token", hide_input=True))
    else:
        token = os.environ.get("SUPPORTDESK_TOKEN") or sys.stdin.readline()
    token = token.strip()
    if not token:
        fail("no token given: type it at the prompt, pipe it on stdin or set SUPPORTDESK_TOKEN")
    if not (token.isascii() and token.isprintable()) or " " in token or len(token) > MAX_TOKEN_LENGTH:
        # it would go into an HTTP header as it is: refuse it here, not as a failed request
        fail("that is not an API token: a token is printable ASCII without spaces (sdt_…)")
    return token


WaitOpt = Annotated[
    float,
    typer.Option(
        "--wait",
        min=0,
        help="Seconds to wait for a sync of this workspace already running (the console's, say).",
    ),
]


def login(
    server_url: Annotated[str, typer.Option("--server", help="The team server, e.g. https://support.example.com.")],
    name: Annotated[str | None, typer.Option("--name", help="Profile name (default: --profile or 'default').")] = None,
    insecure_storage: Annotated[
        bool, typer.Option("--insecure-storage", help="Keep the token in a 0600 file instead of the OS keyring.")
    ] = False,
    no_sync: Annotated[bool, typer.Option("--no-sync", help="Do not download the team's data now.")] = False,
    wait: WaitOpt = 120.0,
) -> None:
    """Log in to a team server: store the token and make this workspace follow the server.

    The token is read from a prompt, or from stdin / SUPPORTDESK_TOKEN when not on a terminal.
    A workspace belongs to the agent it was filled for: logging in there as someone else is
    refused (use another --workspace and --profile).
    Example: supportdesk -w ~/support/acme login --server https://support.acme.test
    """
    from supportdesk.cli.errors import SERVER, fail, print_warning
    from supportdesk.cli.progress import Progress
    from supportdesk.sync.attach import AttachError, attach, check_agent
    from supportdesk.sync.client import ServerClient, SyncError
    from supportdesk.sync.engine import SyncEngine
    from supportdesk.sync.local import state
    from supportdesk.sync.profiles import Profile, ProfileError, check_profile_owner, save_profile, store_token
    from supportdesk.sync.round_lock import sync_round

    if not server_url.startswith(("http://", "https://")) or not server_url.isprintable() or " " in server_url:
        fail(f"{server_url!r} is not a server address: use http://host:port or https://host")
    token = _read_token()
    profile = Profile(
        name=name or STATE.profile_flag or "default",
        server=server_url.rstrip("/"),
        storage="file" if insecure_storage else "keyring",
    )
    workspace = STATE.workspace(create=True)
    try:
        with ServerClient(profile.server, token, timeout=30) as client:
            me = client.me()
            profile = Profile(profile.name, profile.server, me["email"], profile.storage)
            following = state(workspace).server_url
            if following is not None and following.rstrip("/") == profile.server:
                check_agent(workspace, me)  # the workspace's owner first: the clearest refusal
            check_profile_owner(profile)
            with sync_round(workspace, "login", wait=wait):
                attach(workspace, profile, str(me["id"]))
                stored_as = store_token(profile, token)
                save_profile(profile)
            if stored_as:
                print_warning(stored_as)
            typer.echo(f"Logged in to {profile.server} as {me['name']} <{me['email']}> (profile {profile.name}).")
            if not no_sync:
                filled = state(workspace).bootstrapped
                with Progress("syncing") as progress:
                    summary = SyncEngine(workspace, client, what="login", wait=wait).sync_once(progress.update)
                if filled:
                    typer.echo(
                        f"Pushed {summary.pushed}, pulled {summary.pulled} change(s); at change {summary.cursor}."
                    )
                else:
                    rows = f"{summary.downloaded:,}"
                    typer.echo(f"Downloaded {rows} rows; the workspace is up to date at change {summary.cursor}.")
    except (AttachError, ProfileError) as error:
        fail(str(error))
    except SyncError as error:
        fail(str(error), SERVER)


def sync(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing when all went well.")] = False,
    wait: WaitOpt = 120.0,
) -> None:
    """Send pending changes to the team server and bring in everyone else's (one round).

    One round runs at a time per workspace: this waits (up to --wait seconds) for a round already
    running, e.g. the console's background sync.
    Example: supportdesk sync
    """
    from supportdesk.cli.errors import PARTIAL, SERVER, fail
    from supportdesk.cli.progress import Progress
    from supportdesk.sync.attach import AttachError, open_client
    from supportdesk.sync.client import AuthFailed, SyncError
    from supportdesk.sync.engine import SyncEngine
    from supportdesk.sync.profiles import ProfileError

    workspace = STATE.workspace()
    try:
        with open_client(workspace, STATE.profile_flag) as client, Progress("syncing") as progress:
            summary = SyncEngine(workspace, client, wait=wait).sync_once(progress=progress.update)
    except (AttachError, ProfileError) as error:
        fail(str(error))
    except AuthFailed as error:
        fail(str(error), SERVER)
    except SyncError as error:
        fail(str(error), SERVER)
    from supportdesk.cli.errors import print_error

    for warning in summary.warnings:
        typer.echo(f"note: {warning}", err=True)
    if summary.rescoped:
        typer.echo(
            "note: your groups or role changed on the server; the workspace was filled again"
            f" and {summary.dropped:,} ticket(s) you may no longer see were removed",
            err=True,
        )
    for refusal in summary.refused:
        print_error(
            f"the server refused {refusal.name} (change {refusal.mutation_id}): {refusal.message}{_kept(refusal)}"
        )
    if not quiet or summary.refused:
        typer.echo(
            f"Pushed {summary.pushed}, pulled {summary.pulled} change(s); at change {summary.cursor}; "
            f"{summary.pending} pending."
        )
    if summary.refused:
        raise typer.Exit(PARTIAL)


def _kept(refusal: Refusal) -> str:
    """Where a refused reply or note went: its ticket's draft — and when the ticket has left the
    workspace (moved to a group the agent is not in), the start of the text, which no screen shows."""
    if refusal.name not in ("ticket.reply", "ticket.note"):
        return ""
    ticket_id = refusal.args.get("ticket_id")
    with STATE.workspace().reading() as connection:
        here = connection.execute("SELECT 1 FROM ticket WHERE id = ?", (ticket_id,)).fetchone()
    if here:
        return " (the text is back in the ticket's draft)"
    body = " ".join(str(refusal.args.get("body") or "").split())
    shown = body if len(body) <= 200 else body[:200] + "…"
    return f" (the ticket is no longer in this workspace; its draft keeps the text: {shown})"


@webhook_app.command("add")
def webhook_add(
    url: Annotated[str, typer.Argument(help="Where to POST events (http or https).")],
    events: Annotated[
        str,
        typer.Option(
            "--events",
            help="Comma-separated: ticket.created, ticket.updated, ticket.solved, message.created, feedback.received.",
        ),
    ],
    group: Annotated[
        list[str] | None,
        typer.Option("--group", help="Only this group's tickets (repeat for more).", show_default=False),
    ] = None,
    description: Annotated[str, typer.Option("--description", help="What the endpoint is.")] = "",
    db: DbOpt = None,
) -> None:
    """Register an endpoint. Its signing secret is printed once.

    Example: supportdesk server webhook add https://chat.acme.test/hooks/support --events ticket.solved
    """
    from supportdesk.cli.errors import fail
    from supportdesk.server.admin import group_id
    from supportdesk.server.webhooks import WebhookError, add_endpoint

    database = _database(db)
    groups = [group_id(database, ref) for ref in group] if group else None
    try:
        with database.engine.connect() as connection, connection.begin():
            endpoint_id, secret = add_endpoint(connection, url, events, group_ids=groups, description=description)
    except WebhookError as error:
        fail(str(error))
    typer.echo(secret)
    typer.echo(f"endpoint {endpoint_id}: store the secret now, it is not shown again", err=True)


@webhook_app.command("list")
def webhook_list(db: DbOpt = None) -> None:
    """List endpoints (never their secrets) with their last success and why one was disabled.

    Example: supportdesk server webhook list
    """
    from supportdesk.cli.output import Format, emit_records
    from supportdesk.server.webhooks import ENDPOINT_COLUMNS, list_endpoints

    database = _database(db)
    with database.engine.connect() as connection:
        endpoints = list_endpoints(connection)
    for endpoint in endpoints:
        endpoint["events"] = ",".join(endpoint["events"])
        endpoint["group_ids"] = ",".join(endpoint["group_ids"] or [])
    emit_records(endpoints, list(ENDPOINT_COLUMNS), Format.PLAIN)


@webhook_app.command("remove")
def webhook_remove(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id, as 'webhook list' shows it.")],
    db: DbOpt = None,
) -> None:
    """Remove an endpoint and its queued deliveries.

    Example: supportdesk server webhook remove 01939b1e-…
    """
    from supportdesk.server.webhooks import remove_endpoint

    _change_endpoint(db, endpoint_id, remove_endpoint)
    typer.echo(f"Removed endpoint {endpoint_id}.")


@webhook_app.command("enable")
def webhook_enable(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id.")],
    db: DbOpt = None,
) -> None:
    """Turn on an endpoint that was disabled after a day of failures (replay what it missed).

    Example: supportdesk server webhook enable 01939b1e-…
    """
    from supportdesk.server.webhooks import enable_endpoint

    _change_endpoint(db, endpoint_id, enable_endpoint)
    typer.echo(f"Enabled endpoint {endpoint_id}.")


def _change_endpoint(db: str | None, endpoint_id: str, change: Callable[[Connection, str], bool]) -> None:
    """Run ``change`` on one endpoint in its own transaction; exit 3 if there is no such endpoint."""
    from supportdesk.cli.errors import NOT_FOUND, fail

    database = _database(db)
    with database.engine.connect() as connection, connection.begin():
        if not change(connection, endpoint_id):
            fail(f"no webhook endpoint {endpoint_id}", NOT_FOUND)


@webhook_app.command("deliveries")
def webhook_deliveries(
    endpoint: Annotated[str | None, typer.Option("--endpoint", help="Only this endpoint's.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, delivered or failed.", show_default=False)
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=5000, help="How many, newest first.")] = 50,
    db: DbOpt = None,
) -> None:
    """Deliveries, newest first: status, attempts, the last answer or error.

    Example: supportdesk server webhook deliveries --status failed
    """
    from supportdesk.cli.errors import fail
    from supportdesk.cli.output import Format, emit_records
    from supportdesk.server.webhooks import DELIVERY_COLUMNS, list_deliveries

    if status is not None and status not in ("pending", "delivered", "failed"):
        fail(f"--status {status!r}: choose pending, delivered or failed")
    database = _database(db)
    with database.engine.connect() as connection:
        found = list_deliveries(connection, endpoint_id=endpoint, status=status, limit=limit)
    emit_records(found, list(DELIVERY_COLUMNS), Format.PLAIN)


@webhook_app.command("replay")
def webhook_replay(
    delivery_id: Annotated[str, typer.Argument(help="The delivery's id, as 'webhook deliveries' shows it.")],
    db: DbOpt = None,
) -> None:
    """Send a delivery's event again (the same event id) to its endpoint, now.

    Example: supportdesk server webhook replay 01939b1f-…
    """
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.server.errors import ApiError
    from supportdesk.server.webhooks import replay

    database = _database(db)
    try:
        with database.engine.connect() as connection, connection.begin():
            new_id = replay(connection, delivery_id)
    except ApiError as error:
        fail(error.message, NOT_FOUND)
    typer.echo(f"Queued delivery {new_id} (a replay of {delivery_id}).")
