"""Asking before a big or destructive change, and refusing to guess without a terminal."""

from __future__ import annotations

import sys


def confirm(question: str, *, yes: bool) -> None:
    """Go on when ``yes`` or when the person at the terminal agrees; otherwise stop (exit 2).

    Without a terminal on stdin (a pipe, a cron job) nobody can answer, so the change needs
    ``--yes`` up front.
    """
    from supportdesk.cli.errors import fail

    if yes:
        return
    if not sys.stdin.isatty():
        fail(f"{question.rstrip('?')}: pass --yes to confirm (there is no terminal to ask on)")
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        fail("cancelled: nothing was changed")
