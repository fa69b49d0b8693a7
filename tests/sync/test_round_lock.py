"""The per-workspace sync lock against a hostile or broken workspace folder, and who holds it."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from supportdesk.store.workspace import Workspace
from supportdesk.sync.errors import SyncError
from supportdesk.sync.round_lock import SyncBusy, SyncCancelled, holder, lock_path, running, sync_round
from tests.cli.helpers import supportdesk
from tests.live import Deployment


def test_a_symbolic_link_in_place_of_the_lock_is_refused_and_its_target_untouched(
    workspace: Workspace, tmp_path: Path
) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("the agent's notes")
    lock_path(workspace).symlink_to(precious)
    with pytest.raises(SyncError, match="cannot use the sync lock"), sync_round(workspace, "sync"):
        pass
    assert precious.read_text() == "the agent's notes"


def test_a_folder_in_place_of_the_lock_is_one_clear_error(workspace: Workspace) -> None:
    lock_path(workspace).mkdir()
    with pytest.raises(SyncError, match="sync lock"), sync_round(workspace, "sync"):
        pass


def test_garbage_in_the_lock_file_is_overwritten_and_never_trusted(workspace: Workspace) -> None:
    lock_path(workspace).write_bytes(b"\x1b[31m{not json" * 1000)
    assert holder(workspace) == "another process"
    with sync_round(workspace, "console"):
        described = json.loads(lock_path(workspace).read_text())
        assert described["pid"] == os.getpid() and described["what"] == "console"
        assert running(workspace) is not None and "console" in str(running(workspace))
    assert running(workspace) is None


def test_a_waiting_round_can_be_cancelled_and_times_out_with_who_holds_it(workspace: Workspace) -> None:
    told: list[str] = []
    with sync_round(workspace, "login"):
        with pytest.raises(SyncBusy, match=r"\(pid \d+ \(login, since"), sync_round(workspace, "sync", wait=0.1):
            pass
        stop = threading.Event()
        threading.Timer(0.2, stop.set).start()
        with (
            pytest.raises(SyncCancelled),
            sync_round(workspace, "console", wait=None, on_wait=told.append, cancelled=stop.is_set),
        ):
            pass
    assert len(told) == 1 and "login" in told[0]


def test_status_says_who_is_syncing_now(sqlite_deployment: Deployment) -> None:
    sam = sqlite_deployment.replica("sam")
    try:
        with sync_round(sam.workspace, "console"):
            shown = supportdesk("status", "--json", workspace=sam.workspace.root)
            assert shown.returncode == 0, shown.stderr
            assert "(console, since" in json.loads(shown.stdout)["syncing_now"]
        idle = supportdesk("status", "--json", workspace=sam.workspace.root)
        assert json.loads(idle.stdout)["syncing_now"] is None
    finally:
        sam.close()
