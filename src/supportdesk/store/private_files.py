"""Files only their owner may read: databases (0600) and attachment folders (0700).

A workspace holds customers' mail and a server database every team's; neither is for the other
accounts of the machine, whatever the umask. SQLite creates a database's ``-wal``, ``-shm`` and
``-journal`` files with the database file's own mode, so a database made private here keeps its
companions private too; existing files with looser modes are tightened when opened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
COMPANIONS = ("-wal", "-shm", "-journal")


def _tighten(path: Path, mode: int) -> None:
    """Take the bits outside ``mode`` off ``path`` (only ours: another account's file is left as
    it is, and opening it goes on)."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return
    current = stat.S_IMODE(found.st_mode)
    if current & ~mode and found.st_uid == os.getuid():
        path.chmod(current & mode)


def private_database(path: Path) -> None:
    """Create the SQLite file at ``path`` as 0600 if it is missing; take the group's and others'
    bits off it and its companion files if it exists."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in COMPANIONS)):
        _tighten(candidate, FILE_MODE)


def private_dir(path: Path) -> None:
    """Create the folder at ``path`` as 0700 if it is missing (parents as the umask says);
    take the group's and others' bits off it if it exists."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, DIR_MODE)
