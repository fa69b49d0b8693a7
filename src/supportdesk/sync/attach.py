"""Attaching a workspace to a server (``supportdesk login``) and opening a client for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from supportdesk.sync.client import ServerClient, SyncError
from supportdesk.sync.local import state
from supportdesk.sync.profiles import Profile, get_profile, load_token

if TYPE_CHECKING:
    from supportdesk.store.workspace import Workspace


class AttachError(SyncError):
    pass


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
