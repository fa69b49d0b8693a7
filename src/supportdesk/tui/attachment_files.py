"""Opening, saving and previewing a ticket's files from the console (no widgets here).

What a viewer may be handed is decided by the **sniffed** type only
(:func:`supportdesk.store.file_types.viewer_for`): images and PDF go to the system viewer
(``xdg-open``, ``open`` on macOS, or ``[console] opener``), text goes to ``$PAGER`` (``less``)
after its terminal control sequences are stripped, and everything else — programs, scripts,
archives, office files, unknown bytes — can only be saved. The viewer never sees the sender's
name: it gets a copy named ``<hash><extension of the sniffed type>`` under the workspace's store
(``opened/<sha256>/``, which erasure overwrites with the file), so a name like
``invoice.pdf.desktop`` decides nothing.

A file not in the workspace is fetched the first time (:func:`supportdesk.sync.blob_cache.
fetch`); the console does that in a thread worker, and offline says so in one line.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supportdesk.store.file_types import extension_for, mismatch, viewer_for
from supportdesk.tui.text import safe, safe_line

if TYPE_CHECKING:
    from supportdesk.config import Settings
    from supportdesk.store.workspace import Workspace

#: Bytes of a text file handed to the pager (the rest is cut, and the pager says so).
PAGER_BYTES = 8 * 1024 * 1024


class FileProblem(Exception):
    """A file cannot be opened, fetched or saved; the message is one line for the agent."""


@dataclass(frozen=True)
class FileRef:
    """One attachment of a message, as the timeline knows it."""

    sha256: str
    filename: str
    size: int
    content_type: str
    sniffed_type: str

    @classmethod
    def of(cls, attachment: dict[str, Any]) -> FileRef:
        return cls(
            sha256=str(attachment.get("sha256") or ""),
            filename=str(attachment.get("filename") or ""),
            size=int(attachment.get("size") or 0),
            content_type=str(attachment.get("content_type") or ""),
            sniffed_type=str(attachment.get("sniffed_type") or ""),
        )

    @property
    def label(self) -> str:
        """The name as the console shows it: control characters gone, bounded."""
        return safe_line(self.filename or "(no name)", cap=80)

    @property
    def viewer(self) -> str | None:
        return viewer_for(self.sniffed_type)

    @property
    def warning(self) -> str | None:
        return mismatch(self.content_type, self.sniffed_type, self.filename)


def opener(settings: Settings) -> list[str]:
    """The system viewer command: ``[console] opener``, else ``open`` on macOS, ``xdg-open``."""
    configured = settings.section("console").get("opener")
    if isinstance(configured, str) and configured.strip():
        return shlex.split(configured)
    return ["open"] if sys.platform == "darwin" else ["xdg-open"]


def pager() -> list[str]:
    return shlex.split(os.environ.get("PAGER") or "less")


def save_folder(settings: Settings) -> str:
    """The folder ``w`` offers: ``[console] save_dir``, else ~/Downloads when it exists, else ~."""
    configured = settings.section("console").get("save_dir")
    if isinstance(configured, str) and configured.strip():
        return configured
    downloads = Path.home() / "Downloads"
    return str(downloads if downloads.is_dir() else Path.home())


def local_path(workspace: Workspace, settings: Settings, ref: FileRef, profile: str | None = None) -> Path:
    """The file in the workspace, fetched from the server the first time (blocking: a worker's job).

    A cached file is found without importing the sync layer (httpx and the client cost a few
    hundred milliseconds the first time; opening from the cache must not wait for them)."""
    from supportdesk.store.blobs import BlobStore

    cached = BlobStore(workspace.attachments_dir)
    if ref.sha256 and cached.has(ref.sha256):
        with contextlib.suppress(OSError):  # the bump only orders the cache's eviction
            cached.touch(ref.sha256)
        return cached.path(ref.sha256)
    from supportdesk.sync.blob_cache import AttachError, cache_cap, fetch
    from supportdesk.sync.client import SyncError
    from supportdesk.sync.local import state

    follows = state(workspace).server_url is not None

    def client() -> Any:
        from supportdesk.sync.attach import open_client

        return open_client(workspace, profile, timeout=60)

    try:
        return fetch(
            workspace,
            ref.sha256,
            cap=cache_cap(settings.section("attachments")),
            client=client if follows else None,
        )
    except (AttachError, SyncError) as error:
        raise FileProblem(f"{ref.label}: {_one_line(error)}") from None
    except OSError as error:
        raise FileProblem(f"{ref.label}: cannot read the workspace's copy ({error.strerror or error})") from None


def viewer_copy(path: Path, ref: FileRef, root: Path) -> Path:
    """A copy for a viewer at ``<root>/opened/<sha256>/<hash><extension>`` (``root`` is the
    workspace's attachment store: erasure overwrites these copies with the file), named by the
    sniffed type's extension and never by the sender's name; text without terminal control
    sequences. Raises :class:`FileProblem` for a file of a type no viewer may open."""
    if ref.viewer is None:
        kind = ref.sniffed_type or "unknown bytes"
        raise FileProblem(f"{ref.label} is {kind}: it is never opened from the console, only saved (w)")
    folder = root / "opened" / path.name
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / f"{ref.sha256[:16]}{extension_for(ref.sniffed_type)}"
    if target.exists():
        return target
    if ref.viewer == "text":
        with path.open("rb") as reader:
            data = reader.read(PAGER_BYTES + 1)
        text = safe(data[:PAGER_BYTES].decode("utf-8", errors="replace"))
        if len(data) > PAGER_BYTES:
            text += f"\n[… cut after {PAGER_BYTES:,} bytes: save the file (w) to read the rest]\n"
        target.write_text(text, encoding="utf-8")
    else:
        shutil.copyfile(path, target)
    return target


def spawn(command: list[str], path: Path) -> subprocess.Popen[bytes]:
    """Start a viewer on ``path`` and return at once (the viewer outlives nothing of ours)."""
    try:
        return subprocess.Popen(
            [*command, str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as error:
        raise FileProblem(f"cannot run {shlex.join(command)}: {error.strerror or error}") from None


def save(path: Path, folder: str, ref: FileRef) -> Path:
    from supportdesk.sync.blob_cache import AttachError, save_copy

    try:
        return save_copy(path, Path(folder).expanduser(), ref.filename)
    except AttachError as error:
        raise FileProblem(str(error)) from None


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return safe_line(text.splitlines()[0] if text else type(error).__name__, cap=200)


__all__ = [
    "FileProblem",
    "FileRef",
    "local_path",
    "opener",
    "pager",
    "save",
    "save_folder",
    "spawn",
    "viewer_copy",
]
