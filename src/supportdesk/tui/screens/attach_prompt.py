"""``ctrl+o`` in the composer: type a file's path, with completion, to attach it.

The suggestion (grey, after the cursor) is the first entry of the folder that starts with what
was typed; ``tab`` completes as far as every match agrees (a shell's completion), ``→`` or
``end`` takes the whole suggestion, enter attaches. ``~`` is the home folder. Hidden entries are
suggested only once a ``.`` is typed. The folder is listed at most once per keystroke and at
most :data:`MAX_ENTRIES` entries are looked at, so a huge folder never stalls the console.
"""

from __future__ import annotations

import os
from itertools import islice
from pathlib import Path
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.suggester import Suggester
from textual.widgets import Input

from supportdesk.tui.screens.forms import PromptScreen

MAX_ENTRIES = 2_000


def _matches(typed: str) -> tuple[str, list[str]]:
    """``(folder part as typed, names in it starting with the rest)``, sorted; folders end in ``/``."""
    head, _, stem = typed.rpartition("/")
    folder_typed = f"{head}/" if head or typed.startswith("/") else ""
    folder = Path(folder_typed or ".").expanduser()
    try:
        with os.scandir(folder) as entries:
            names = []
            for entry in islice(entries, MAX_ENTRIES):
                if not entry.name.startswith(stem) or (entry.name.startswith(".") and not stem.startswith(".")):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                names.append(entry.name + ("/" if is_dir else ""))
    except OSError:
        return folder_typed, []
    return folder_typed, sorted(names)


def complete(typed: str) -> str:
    """``typed`` extended as far as every match agrees (unchanged without a match)."""
    folder, names = _matches(typed)
    if not names:
        return typed
    return folder + os.path.commonprefix(names)  # noqa: RUF071 - a shell's completion is by characters


class PathSuggester(Suggester):
    """Suggests the first entry that starts with what was typed."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        folder, names = _matches(value)
        return folder + names[0] if names else None


class AttachPrompt(PromptScreen):
    """The path prompt; dismisses with the path typed (expanded), or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *PromptScreen.BINDINGS,
        Binding("tab", "complete", "Complete", id="attach.complete", priority=True),
    ]

    def __init__(self, start: str = "") -> None:
        super().__init__("Attach a file (tab completes, enter attaches)", value=start, placeholder="~/path/to/file")

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.suggester = PathSuggester()
        field.cursor_position = len(field.value)

    def action_complete(self) -> None:
        field = self.query_one(Input)
        field.value = complete(field.value)
        field.cursor_position = len(field.value)
