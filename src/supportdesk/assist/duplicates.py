"""Is this new ticket the same matter as one the requester already has open?

Customers write again when an answer is slow: in other words, often angrier, sometimes in a new
ticket instead of a reply. The score of two texts is their embedding cosine plus a share of
their word overlap (the same rare words — a row number, an invoice month, "429" — are strong
evidence), less a penalty when both name specifics and share none ("the March invoice", "the
April invoice"); a pair at or above :data:`THRESHOLD` is a possible duplicate. Only the same
requester's open tickets are compared, so the candidates are few and no index is needed: this
runs on the server as a ticket arrives as well as on a replica.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from supportdesk.assist import embedding
from supportdesk.assist.text import clean, words
from supportdesk.assist.tickets import ticket_texts
from supportdesk.store.times import from_db, to_db

#: Score at or above which a pair is a possible duplicate (the best F1 on the tuning split of
#: bench/assist_evaluation.yaml; see bench/README.md).
THRESHOLD = 0.55
OVERLAP_WEIGHT = 0.5
#: Taken off when both texts name specifics (numbers, months) and share none: "the March
#: invoice" and "the April invoice" are two matters however alike the words.
CONFLICT_PENALTY = 0.75
_MONTHS = frozenset(
    """
    january february march april may june july august september october november december
    januar februar märz juni juli oktober dezember janvier février mars avril mai juin juillet
    août septembre octobre novembre décembre enero febrero marzo abril mayo junio julio agosto
    septiembre octubre noviembre diciembre
    """.split()
)
#: How far back an open ticket of the requester still counts.
WINDOW = timedelta(days=30)
_SHORT = 3


@dataclass(frozen=True)
class DuplicateCandidate:
    ticket_id: str
    number: int | None
    subject: str
    score: float


def _content_words(text: str) -> set[str]:
    return {w for w in words(text) if len(w) > _SHORT} | {t for t in text.split() if any(c.isdigit() for c in t)}


def specifics(text: str) -> set[str]:
    """Numbers and month names: what tells one matter from another of the same kind."""
    numbers = {"".join(ch for ch in token if ch.isdigit()) for token in text.split() if any(c.isdigit() for c in token)}
    return {n for n in numbers if n} | {w for w in words(text) if w in _MONTHS}


def conflict(first: str, second: str) -> bool:
    a, b = specifics(first), specifics(second)
    return bool(a and b and not a & b)


def pair_score(first: str, second: str, similarity: float) -> float:
    """The duplicate score of two cleaned texts whose embedding cosine is ``similarity``."""
    value = similarity + OVERLAP_WEIGHT * overlap(first, second)
    if conflict(first, second):
        value -= CONFLICT_PENALTY
    return round(value, 4)


def overlap(first: str, second: str) -> float:
    """Share of the shorter text's content words the other one also has (0..1)."""
    a, b = _content_words(first), _content_words(second)
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def score(first: str, second: str, *, embedder: embedding.Embedder | None = None) -> float:
    """How likely two customer texts are the same matter (roughly 0..1.5)."""
    model = embedder or embedding.embedder()
    a, b = clean(first), clean(second)
    if not a or not b:
        return 0.0
    vectors = model.embed([a, b], cleaned=True)
    return pair_score(a, b, float(vectors[0] @ vectors[1]))


#: Statuses of a ticket a new one can repeat (what ``ticket.flag_duplicate`` accepts).
OPEN_STATUSES = ("new", "open", "pending", "on_hold")
#: The requester's open tickets compared at most (the newest first).
CANDIDATES = 50


def best_matches(
    mine: str,
    others: Sequence[tuple[str, int | None, str, str]],
    *,
    threshold: float = THRESHOLD,
    limit: int = 3,
    embedder: embedding.Embedder | None = None,
) -> list[DuplicateCandidate]:
    """Which of ``others`` (id, number, subject, model text) the model text ``mine`` probably
    repeats, best first: the comparison both the workspace and the server run."""
    candidates = [o for o in others if o[3]]
    if not mine or not candidates:
        return []
    model = embedder or embedding.embedder()
    vectors = model.embed([mine, *[o[3] for o in candidates]], cleaned=True)
    found: list[DuplicateCandidate] = []
    for n, (other_id, number, subject, other_text) in enumerate(candidates, start=1):
        value = pair_score(mine, other_text, float(vectors[0] @ vectors[n]))
        if value >= threshold:
            found.append(DuplicateCandidate(other_id, number, subject or "", round(value, 4)))
    found.sort(key=lambda c: (-c.score, c.ticket_id))
    return found[:limit]


def find(
    connection: sqlite3.Connection, ticket_id: str, *, threshold: float = THRESHOLD, limit: int = 3
) -> list[DuplicateCandidate]:
    """Open tickets of the same requester, created before this one within :data:`WINDOW`, that
    this ticket probably repeats — best first.

    Only pairs ``ticket.flag_duplicate`` would accept are compared: both open, the requester not
    erased, and the older ticket ungrouped or in the new one's group (whoever reads the new
    ticket may see it)."""
    row = connection.execute(
        "SELECT t.requester_id, t.created_at, t.group_id, t.status, c.erased_at FROM ticket t "
        "JOIN customer c ON c.id = t.requester_id WHERE t.id = ? AND t.merged_into_id IS NULL",
        (ticket_id,),
    ).fetchone()
    if row is None or row[4] is not None or row[3] not in OPEN_STATUSES:
        return []
    requester, created, group = row[0], row[1], row[2]
    created_at = from_db(created)
    since = to_db(created_at - WINDOW) if created_at else created
    marks = ",".join("?" * len(OPEN_STATUSES))
    others = connection.execute(
        "SELECT id, number, subject FROM ticket WHERE requester_id = ? AND id != ? AND merged_into_id IS NULL "
        f"AND status IN ({marks}) AND created_at >= ? AND created_at <= ? AND (group_id IS NULL OR group_id IS ?) "
        f"ORDER BY created_at DESC LIMIT {CANDIDATES}",
        (requester, ticket_id, *OPEN_STATUSES, since, created, group),
    ).fetchall()
    if not others:
        return []
    texts = ticket_texts(connection, [ticket_id, *[o[0] for o in others]])
    listed = [(o[0], o[1], o[2] or "", texts.get(o[0], "")) for o in others]
    return best_matches(texts.get(ticket_id, ""), listed, threshold=threshold, limit=limit)
