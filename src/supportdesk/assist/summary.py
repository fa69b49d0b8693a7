"""A ticket's summary: what the customer asks, what was tried, where it stands, who acts next.

Extractive and deterministic: every sentence is either quoted from the ticket (and says whose
words it is) or a template over the ticket's fields. Nothing is paraphrased or invented, so an
agent can trust it the way they trust the timeline. Tickets with fewer than
:data:`MIN_MESSAGES` messages need no summary (the timeline is short enough to read).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

from supportdesk.assist.text import clean, sentences
from supportdesk.assist.tickets import ERASED
from supportdesk.store.times import from_db, relative, utcnow

MIN_MESSAGES = 4
SENTENCE_CHARS = 300
_ASK = re.compile(
    r"\?|\b(please|could you|can you|can we|would you|i need|we need|i want|we want|i would like|we would like|"
    r"how do i|how can|is it possible|bitte|könnten sie|können sie|pourriez|pouvez-vous|podrían|puede|potreste|"
    r"poderiam|kunnen jullie|kan ni|kan i|czy)\b",
    re.IGNORECASE,
)
_TRIED = re.compile(
    r"\b(tried|try again|retried|reinstall\w*|restart\w*|cleared|checked|updated|re-?enabled|re-?sent|resent|"
    r"reset|refunded|issued|unlocked|raised|removed|reconnect\w*|regenerated|deployed|fixed|enabled|disabled|"
    r"scheduled|i have|we have|i've|we've|did not help|didn't help|still)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SummaryLine:
    text: str
    source: str  # "customer", "agent", "note" (quoted), or "fields" (a template)


@dataclass(frozen=True)
class Summary:
    asks: list[SummaryLine]
    tried: list[SummaryLine]
    state: SummaryLine
    next_step: SummaryLine
    messages: int = 0
    lines: list[SummaryLine] = field(default_factory=list)

    def text(self) -> str:
        """The summary as plain lines (quoted sentences in quotes, with who said them)."""
        out = ["Asks: " + " ".join(_quoted(line) for line in self.asks) if self.asks else "Asks: (nothing stated)"]
        if self.tried:
            out.append("Tried: " + " ".join(_quoted(line) for line in self.tried))
        out.append(self.state.text)
        out.append(self.next_step.text)
        return "\n".join(out)


def _quoted(line: SummaryLine) -> str:
    return f"“{line.text}” ({line.source})"


def _short(sentence: str) -> str:
    return sentence if len(sentence) <= SENTENCE_CHARS else sentence[: SENTENCE_CHARS - 1].rstrip() + "…"


def _pick(text: str, pattern: re.Pattern[str], limit: int) -> list[str]:
    return [_short(s) for s in sentences(text) if pattern.search(s)][:limit]


def summarize(connection: sqlite3.Connection, ticket_id: str) -> Summary | None:
    """The summary of a ticket with at least :data:`MIN_MESSAGES` messages; else ``None``."""
    ticket = connection.execute(
        "SELECT t.subject, t.status, t.updated_at, a.name, g.name FROM ticket t "
        "LEFT JOIN agent a ON a.id = t.assignee_id LEFT JOIN groups g ON g.id = t.group_id WHERE t.id = ?",
        (ticket_id,),
    ).fetchone()
    if ticket is None:
        return None
    messages = connection.execute(
        "SELECT author_kind, public, substr(body, 1, 20000), created_at FROM message WHERE ticket_id = ? "
        "ORDER BY created_at, rowid",
        (ticket_id,),
    ).fetchall()
    if len(messages) < MIN_MESSAGES:
        return None
    subject, status, _updated, assignee, group = ticket
    customer = [clean(m[2]) for m in messages if m[0] == "customer" and m[2] != ERASED]
    asks = [SummaryLine(s, "customer") for s in (_pick(customer[0], _ASK, 2) if customer else [])]
    if not asks and customer:
        first = sentences(customer[0])
        asks = [SummaryLine(_short(first[0]), "customer")] if first else []
    if not asks and subject and subject != ERASED:
        asks = [SummaryLine(_short(clean(subject)), "subject")]
    tried: list[SummaryLine] = []
    for kind, public, body, _at in messages[1:]:
        if body == ERASED or kind not in ("customer", "agent"):
            continue
        source = "customer" if kind == "customer" else ("agent" if public else "note")
        for sentence in _pick(clean(body), _TRIED, 1):
            if all(sentence != line.text for line in tried):
                tried.append(SummaryLine(sentence, source))
    tried = tried[-3:]
    public_messages = [m for m in messages if m[1] and m[0] in ("customer", "agent")]
    last = public_messages[-1] if public_messages else messages[-1]
    last_at = from_db(last[3])
    ago = relative(last_at, utcnow()) if last_at else ""
    owner = f"{assignee}" if assignee else (f"the {group} group" if group else "the team (unassigned)")
    state = SummaryLine(
        f"State: {status.replace('_', ' ')}, {len(messages)} messages, last public message from the "
        f"{'customer' if last[0] == 'customer' else 'agent'} {ago} ago; assigned to {owner}.",
        "fields",
    )
    if status in ("solved", "closed"):
        next_text = "Next step: none — the ticket is solved."
    elif status == "on_hold":
        next_text = f"Next step: {owner}, once the third party answers (on hold)."
    elif status == "pending" and last[0] == "agent":
        next_text = "Next step: the customer (we are waiting for their reply)."
    elif last[0] == "customer" or status in ("new", "open"):
        next_text = f"Next step: {owner} owes the customer a reply."
    else:
        next_text = "Next step: the customer (the last reply was ours)."
    return Summary(asks, tried, state, SummaryLine(next_text, "fields"), len(messages))
