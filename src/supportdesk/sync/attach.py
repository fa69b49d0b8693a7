"""Attaching a workspace to a server (``supportdesk login``) and opening a client for it.

A workspace following a server is **bound to the agent it was filled for** (the ``me``
setting): its copy holds what that agent may see and its outbox what they wrote. Logging in
there as someone else, or syncing it with another agent's token, would push one agent's work
under another's name and replace the copy with the other agent's tickets, so both are refused
before anything is sent or written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from supportdesk.sync.client import ServerClient, SyncError
from supportdesk.sync.local import state
from supportdesk.sync.profiles import Profile, get_profile, load_token

if TYPE_CHECKING:
    from supportdesk.store.workspace import Workspace


class AttachError(SyncError):
    pass


class WrongAgent(AttachError):
    """The token belongs to another agent than the one this workspace was filled for."""


def _agent_label(workspace: Workspace, agent_id: str) -> str:
    with workspace.reading() as connection:
        row = connection.execute("SELECT email FROM agent WHERE id = ?", (agent_id,)).fetchone()
    return str(row[0]) if row and row[0] else f"agent {agent_id}"


def check_agent(workspace: Workspace, me: dict[str, Any]) -> None:
    """Refuse a token of another agent than the one ``workspace`` is bound to (see the module)."""
    bound = workspace.setting("me")
    if bound is None or str(me.get("id")) == str(bound):
        return
    owner = _agent_label(workspace, str(bound))
    raise WrongAgent(
        f"{workspace.root} belongs to {owner}, but the token is {me.get('email') or me.get('id')}'s: "
        f"syncing would replace {owner}'s copy and outbox. Use {owner}'s token here, or another "
        "--workspace (and --profile) for the other agent"
    )


def attach(workspace: Workspace, profile: Profile, agent_id: str) -> bool:
    """Make ``workspace`` follow ``profile``'s server as ``agent_id``; returns False if it already did.

    Only an empty workspace can start following a server: local data made elsewhere (the demo,
    another server) would be mixed with the team's and pushed nowhere.
    """
    from supportdesk.store.ids import uuid7

    current = state(workspace)
    if current.server_url == profile.server and workspace.setting("me") == agent_id:
        connection = workspace.connect()
        try:
            connection.execute("UPDATE sync_state SET profile = ? WHERE id = 1", (profile.name,))
        finally:
            connection.close()
        return False
    if current.server_url is not None and current.server_url.rstrip("/") == profile.server.rstrip("/"):
        check_agent(workspace, {"id": agent_id, "email": profile.agent_email})
    if current.server_url is not None:
        raise AttachError(
            f"{workspace.root} already follows {current.server_url}: use another --workspace for {profile.server}"
        )
    if not workspace.is_empty():
        raise AttachError(
            f"{workspace.root} already holds local data (a demo, or another team's): "
            "log in with an empty workspace, e.g. --workspace ~/support/team"
        )
    with workspace.writing() as connection:
        connection.execute("DELETE FROM outbox")
        connection.execute("DELETE FROM outbox_touched")
        connection.execute("DELETE FROM sqlite_sequence WHERE name = 'outbox'")
        connection.execute(
            "UPDATE sync_state SET client_id = ?, server_url = ?, profile = ?, cursor = 0, "
            "last_acked_mutation_id = 0, bootstrap = '{}', last_error = NULL WHERE id = 1",
            (uuid7(), profile.server, profile.name),
        )
        connection.execute(
            "INSERT INTO workspace_setting(key, value) VALUES ('me', json_quote(?)) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (agent_id,),
        )
    return True


def open_client(workspace: Workspace, profile_name: str | None = None, *, timeout: float = 30.0) -> ServerClient:
    """A client for the server this workspace follows (its profile, or the one named)."""
    current = state(workspace)
    if current.server_url is None:
        raise AttachError(f"{workspace.root} follows no server: run 'supportdesk login --server URL' first")
    profile = get_profile(profile_name or current.profile or "default")
    if profile.server.rstrip("/") != current.server_url.rstrip("/"):
        raise AttachError(
            f"profile {profile.name} is for {profile.server}, but this workspace follows {current.server_url}"
        )
    return ServerClient(profile.server, load_token(profile), timeout=timeout)
