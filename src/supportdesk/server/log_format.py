"""Our log lines as the server writes them: one record starts one line, whatever it carries.

The request log escapes its own fields, but other records hold text from outside: an after-commit
failure logs its exception (whose message may quote a customer's or a client's words) and its
traceback, a refused mail logs the reason built from a sender's address. A line break in such
text would start what reads as a new record (a forged ``… INFO supportdesk.server.requests: …``
line for whoever greps the log), and an escape sequence would drive the terminal of whoever
tails it. So the formatter marks every line after a record's first with ``  | `` (a traceback
stays readable, and no continuation can pass for a record) and writes control, bidi and
invisible characters as visible ``⟨U+XXXX⟩`` marks.
"""

from __future__ import annotations

import logging

from supportdesk.domain.text_safety import make_visible

#: What starts every line of a record after its first.
CONTINUATION = "  | "


class OneRecordPerLine(logging.Formatter):
    """:class:`logging.Formatter` whose output cannot forge a record or reach a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return f"\n{CONTINUATION}".join(make_visible(line) for line in lines)
