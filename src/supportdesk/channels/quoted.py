"""Where a mail's new text ends and the history it quotes begins (the console folds the rest).

quotequail finds the line that introduces quoted history — "On … wrote:", "Am … schrieb …:",
"Le … a écrit :", Outlook's "-----Original Message-----" and underscore rule, "Begin forwarded
message:" and their kin in nine languages, even when a client wrapped the line in two. Two
shapes it leaves alone we add by hand: an Outlook header block with no rule above it ("From: …"
followed by "Sent:"/"To:"/"Subject:"/"Date:"), and a trailing block of "> " lines with no
introduction at all.

Bounded for hostile mail: quotequail's patterns backtrack on long lines (a 180,000-character
"Am … schrieb …" line took 31 s), and its default line limit folds everything after line 1,000
as if it were quoted; its thirty patterns cost ~0.3 ms a line. So it sees only lines that could
introduce a quote (a ":", "@", "___" or "---" on them or the next), at most
:data:`MAX_CANDIDATES` of them among the first :data:`SCAN_LINES`, each cut to :data:`LINE_CAP`
characters — no real introduction line is longer. ``bench/channels_text.py`` measures it.
"""

from __future__ import annotations

import re

SCAN_LINES = 2_000
LINE_CAP = 300
MAX_CANDIDATES = 200
_MARKS = (":", "@", "___", "---")
_OUTLOOK_FROM = re.compile(r"^\*?(from|von|de|van|från)\s*:\*?\s*\S", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\*?(sent|date|to|subject|cc|gesendet|an|betreff|datum|envoyé|objet)\s*:", re.I)


def split_quoted(body: str) -> tuple[str, str]:
    """The new text of an email and the history it quotes (``(body, "")`` when there is none)."""
    lines = body.split("\n")
    index = _introduction(lines)
    if index is None:
        index = _outlook_block(lines)
    if index is None:
        index = _trailing_quote(lines)
    if index is None or index == 0 or not "\n".join(lines[:index]).strip():
        return body, ""
    return "\n".join(lines[:index]).rstrip(), "\n".join(lines[index:])


def _introduction(lines: list[str]) -> int | None:
    """The line introducing quoted history, by quotequail, within the scan bounds."""
    import quotequail

    window = [line[:LINE_CAP] for line in lines[:SCAN_LINES]]
    # every introduction quotequail knows has ":", "@", "___" or "---" on its line or, wrapped,
    # on the next: it sees only those lines (a run of others becomes one blank line, which no
    # pattern matches and no wrapped line crosses), so its 30 patterns do not run over prose
    marked = [any(mark in line for mark in _MARKS) for line in window]
    compact: list[str] = []
    origin: list[int] = []
    for index, line in enumerate(window):
        if marked[index] or (index + 1 < len(window) and marked[index + 1]):
            if origin and origin[-1] != index - 1:
                compact.append("")
                origin.append(index - 1)
            compact.append(line)
            origin.append(index)
            if len(compact) >= MAX_CANDIDATES:
                break
    if not compact:
        return None
    parts: list[tuple[bool, str]] = quotequail.quote("\n".join(compact), limit=None, quote_intro_line=True)
    if len(parts) < 2:
        return None
    return origin[len(compact) - (parts[1][1].count("\n") + 1)]  # the quoted part is compact[k:]


def _outlook_block(lines: list[str]) -> int | None:
    for index, line in enumerate(lines[:SCAN_LINES]):
        if _OUTLOOK_FROM.match(line.strip()[:LINE_CAP]) and any(
            _OUTLOOK_NEXT.match(following.strip()[:LINE_CAP]) for following in lines[index + 1 : index + 4]
        ):
            return index
    return None


def _trailing_quote(lines: list[str]) -> int | None:
    """Where a block of ``>`` lines that runs to the end of the mail begins."""
    start = None
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        if not stripped:
            continue
        if not stripped.startswith(">"):
            break
        start = index
    return start
