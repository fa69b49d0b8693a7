"""The summary at the top of a long ticket: what the customer asks, what was tried, where it
stands and who owes the next step (``assist.summarize``: quoted sentences and field templates).

It is computed in a worker after the ticket loads and shown only for tickets with four or more
messages. Folded, it is one line, so an agent who reads the timeline anyway loses little room.
Quoted sentences are customer text: made safe and drawn as ``Content``, never markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from supportdesk.tui.text import safe_line

if TYPE_CHECKING:
    from supportdesk.assist.summary import Summary, SummaryLine

#: The most characters of one quoted sentence shown (the engine caps them at 300 already).
QUOTE_CAP = 300


def _quote(line: SummaryLine) -> Content:
    who = {"customer": "customer", "agent": "agent", "note": "internal note", "subject": "subject"}.get(
        line.source, safe_line(line.source, cap=20)
    )
    return Content("“" + safe_line(line.text, cap=QUOTE_CAP) + "” ") + Content.styled(f"({who})", "dim")


def summary_content(summary: Summary, *, folded: bool, key: str) -> Content:
    """The summary as lines of ``Content``; folded, the next step alone."""
    title = Content.styled("Summary", "bold")
    if folded:
        return (
            title
            + Content("  ")
            + Content(safe_line(summary.next_step.text, cap=200))
            + Content.styled(f"  ({key} shows all)", "dim")
        )
    lines = [title + Content.styled(f"  of {summary.messages} messages ({key} folds)", "dim")]
    asks = [_quote(line) for line in summary.asks]
    lines.append(Content.styled("Asks: ", "bold") + (Content(" ").join(asks) if asks else Content("(nothing stated)")))
    if summary.tried:
        lines.append(Content.styled("Tried: ", "bold") + Content(" ").join(_quote(line) for line in summary.tried))
    lines.append(Content(safe_line(summary.state.text, cap=400)))
    lines.append(Content(safe_line(summary.next_step.text, cap=400)))
    return Content("\n").join(lines)


#: On a terminal shorter than this the summary starts folded: unfolded it would take most of the
#: timeline's rows (80×24 leaves the timeline about ten).
FOLDED_BELOW = 32


class TicketSummary(Static):
    """Hidden until a summary arrives; ``fold`` switches between one line and all of it. Until
    the agent folds or unfolds it, it is folded on a short terminal and open on a tall one."""

    DEFAULT_CSS = """
    TicketSummary { height: auto; max-height: 12; padding: 0 1; border-bottom: solid $foreground 20%; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", markup=False, **kwargs)  # type: ignore[arg-type]
        self.summary: Summary | None = None
        self.ticket_id: str | None = None
        #: The agent's choice (``u``), kept for the next tickets; None: by the terminal's height.
        self.chosen: bool | None = None
        self.key = "u"
        self.display = False

    def show(self, ticket_id: str, summary: Summary | None, *, key: str) -> None:
        self.ticket_id, self.summary, self.key = ticket_id, summary, key
        self.display = summary is not None
        self._draw()

    def clear(self) -> None:
        self.ticket_id = self.summary = None
        self.display = False
        self.update("")

    @property
    def folded(self) -> bool:
        if self.chosen is not None:
            return self.chosen
        return self.app.size.height < FOLDED_BELOW

    def fold(self) -> bool:
        """Fold or unfold; False when there is no summary to fold."""
        if self.summary is None:
            return False
        self.chosen = not self.folded
        self._draw()
        return True

    def on_resize(self) -> None:
        if self.chosen is None and self.summary is not None:
            self._draw()

    def _draw(self) -> None:
        if self.summary is not None:
            self.update(summary_content(self.summary, folded=self.folded, key=self.key))
