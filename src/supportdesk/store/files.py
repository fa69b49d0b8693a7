"""Attachment bytes on disk, by content hash, and their removal once no row names them.

A workspace and the team server keep attachment files at ``<root>/<aa>/<sha256>`` (the blob
store writes them, :mod:`supportdesk.store.blobs`). Rows name files by hash, so several
messages can share one file; an erasure deletes the rows, and the files whose hash no attachment
row names any more are removed here, after the commit (a rolled-back erasure must not lose a
file its rows still name).

Removing a file overwrites its bytes with zeros first, so on a plain file system the blocks it
freed do not keep the content; copy-on-write file systems and SSDs may still keep old blocks
until they are reused, which an encrypted volume covers (the README says so).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ZEROS = bytes(64 * 1024)


def path_for(root: Path, sha256: str) -> Path:
    """Where the file with this hash lives under ``root``."""
    return root / sha256[:2] / sha256


def remove_files(root: Path, hashes: Iterable[str]) -> int:
    """Overwrite and delete the files with these hashes, and the copies a viewer was given of them
    (``<root>/opened/<sha256>/``); returns how many files were there.

    Only well-formed hashes are taken, so a value read from a row can never name a path outside
    ``root``.
    """
    removed = 0
    for sha256 in hashes:
        if not _SHA256.match(sha256):
            continue
        _remove_opened(root / "opened" / sha256)
        path = path_for(root, sha256)
        if not path.is_file() or path.is_symlink():
            continue
        _overwrite(path)
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def _remove_opened(folder: Path) -> None:
    """The copies made for a viewer (a name and extension it understands): overwritten too."""
    if not folder.is_dir() or folder.is_symlink():
        return
    for copy in folder.iterdir():
        if copy.is_file() and not copy.is_symlink():
            _overwrite(copy)
        copy.unlink(missing_ok=True)
    folder.rmdir()


def stored_hashes(root: Path) -> set[str]:
    """The hashes of every file under ``root`` (for a sweep of files no row names)."""
    if not root.is_dir():
        return set()
    return {path.name for path in root.glob("??/*") if _SHA256.match(path.name) and path.name[:2] == path.parent.name}


def _overwrite(path: Path) -> None:
    try:
        size = path.stat().st_size
        with path.open("r+b") as file:
            left = size
            while left > 0:
                chunk = _ZEROS[: min(left, len(_ZEROS))]
                file.write(chunk)
                left -= len(chunk)
            file.flush()
            os.fsync(file.fileno())
    except OSError:
        pass  # read-only or gone: deleting it is still the best we can do
