"""What the customer wants: the nearest labelled examples decide.

An **intent** is a name, the tags that mark a past ticket as one (a ticket carrying all of them
— and no more specific intent's — is an example), and example phrases an admin wrote. The
model embeds every example and scores a new ticket against each intent by the mean similarity
of its three nearest examples; the best intent wins if it is close enough, with a confidence
from how far it leads the runner-up.

Examples come from three places, in this order of authority:

1. **corrections**: an agent set a ticket's intent by hand (phase 2 records it as an audited
   mutation; :func:`learn` takes them as ``{ticket_id: intent}``) — that ticket's text becomes
   an example of the corrected intent and stops being one of any other;
2. **the YAML**: the phrases admins wrote (:data:`SEED_FILE` is seeded from the demo's topics);
3. **past tickets' tags**: the newest tickets tagged as an intent, up to ``per_intent`` each.

The model is plain data (names, a matrix, labels), deterministic for the same inputs, cheap to
rebuild (a few thousand examples embed in well under a second).
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from supportdesk.assist.embedding import Embedder

if TYPE_CHECKING:
    import numpy as np

SEED_FILE = Path(__file__).with_name("intents.yaml")
UNKNOWN = "unknown"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_INTENTS = 200
MAX_EXAMPLES = 500  # per intent, from the YAML
MAX_EXAMPLE_CHARS = 1000
#: Below this mean similarity of the nearest examples, no intent fits.
MIN_SIMILARITY = 0.25
NEAREST = 3
_SOFTMAX_TEMPERATURE = 0.03


class IntentFileError(ValueError):
    """The intents YAML is not valid; the message names the entry and what is wrong."""


@dataclass(frozen=True)
class Intent:
    name: str
    tags: tuple[str, ...]
    examples: tuple[str, ...]


@dataclass(frozen=True)
class IntentGuess:
    name: str  # an intent's name, or "unknown"
    confidence: float  # 0..1
    similarity: float  # mean similarity of the nearest examples of that intent


@dataclass(frozen=True)
class LabelledText:
    """One learned example: where it came from (a ticket id, or "yaml") and its text."""

    intent: str
    text: str
    source: str


#: An intents file bigger than this is refused before it is parsed (the shipped one is ~6 KB;
#: 200 intents × 500 examples of a sentence each fit).
MAX_FILE_BYTES = 4_000_000
#: Nesting deeper than this is no intents file (the format needs 4 levels).
MAX_DEPTH = 8


def _check_shape(text: str) -> None:
    """Refuse what an intents file never needs before building any object: anchors and aliases
    (a few lines of them expand to gigabytes), deep nesting (the loader recurses) and tags."""
    import yaml  # type: ignore[import-untyped]

    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                line = event.start_mark.line + 1
                raise IntentFileError(f"line {line}: anchors and aliases (& and *) are not allowed in an intents file")
            if (
                isinstance(event, yaml.NodeEvent)
                and getattr(event, "tag", None)
                and not getattr(event, "implicit", True)
            ):
                line = event.start_mark.line + 1
                raise IntentFileError(f"line {line}: YAML tags (!…) are not allowed in an intents file")
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    line = event.start_mark.line + 1
                    raise IntentFileError(f"line {line}: nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as error:
        raise IntentFileError(f"not valid YAML: {' '.join(str(error).split())}") from None


def load_file(path: Path) -> list[Intent]:
    """An admin's intents file: read, bounded and checked (:class:`IntentFileError` says what is
    wrong and where, naming the file)."""
    if path.exists() and not path.is_file():  # a FIFO or a device would block or never end
        raise IntentFileError(f"{path}: not a regular file")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise IntentFileError(f"{path}: cannot read it ({error.strerror or error})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise IntentFileError(f"{path}: larger than {MAX_FILE_BYTES // 1_000_000} MB; an intents file is far smaller")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise IntentFileError(f"{path}: not UTF-8 text (byte {error.start})") from None
    try:
        return parse(text)
    except IntentFileError as error:
        raise IntentFileError(f"{path}: {error}") from None


def parse(text: str) -> list[Intent]:
    """Intents from YAML (see :data:`SEED_FILE`); a bad file raises :class:`IntentFileError`."""
    import yaml

    if len(text) > MAX_FILE_BYTES:
        raise IntentFileError(f"larger than {MAX_FILE_BYTES // 1_000_000} MB; an intents file is far smaller")
    _check_shape(text)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise IntentFileError(f"not valid YAML: {' '.join(str(error).split())}") from None
    if not data or not isinstance(data, dict) or not isinstance(data.get("intents"), list) or not data["intents"]:
        raise IntentFileError("expected a mapping with a list under 'intents' (at least one intent)")
    entries = data["intents"]
    if len(entries) > MAX_INTENTS:
        raise IntentFileError(f"{len(entries)} intents: at most {MAX_INTENTS}")
    intents: list[Intent] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise IntentFileError(f"intent {position}: expected a mapping with name, tags and examples")
        name = entry.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise IntentFileError(f"intent {position}: name must be lower-case letters, digits, - or _ (≤ 40)")
        if name in seen or name == UNKNOWN:
            raise IntentFileError(f"intent {name!r}: the name is used twice or reserved")
        seen.add(name)
        tags = entry.get("tags") or []
        examples = entry.get("examples") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) and 0 < len(t) <= 80 for t in tags):
            raise IntentFileError(f"intent {name!r}: tags must be a list of tag names")
        if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
            raise IntentFileError(f"intent {name!r}: examples must be a list of phrases")
        if len(examples) > MAX_EXAMPLES:
            raise IntentFileError(f"intent {name!r}: {len(examples)} examples, at most {MAX_EXAMPLES}")
        cleaned = tuple(e.strip()[:MAX_EXAMPLE_CHARS] for e in examples if e.strip())
        intents.append(Intent(name, tuple(t.strip().lower() for t in tags), cleaned))
    return intents


def seed() -> list[Intent]:
    """The intents shipped with supportdesk (one per demo topic)."""
    return parse(SEED_FILE.read_text(encoding="utf-8"))


def intent_for_tags(intents: Sequence[Intent], tags: Iterable[str]) -> str | None:
    """The intent a ticket with these tags is an example of: the one whose tags it carries
    all of, the most specific if several (``payment`` + ``card_declined`` beats ``payment``);
    ``None`` when none or a tie."""
    present = set(tags)
    matches = [i for i in intents if i.tags and set(i.tags) <= present]
    if not matches:
        return None
    widest = max(len(i.tags) for i in matches)
    best = [i for i in matches if len(i.tags) == widest]
    return best[0].name if len(best) == 1 else None


@dataclass
class IntentModel:
    """Example vectors and their intents; :meth:`classify` finds the nearest."""

    names: tuple[str, ...]
    labels: np.ndarray  # (examples,) index into names
    vectors: np.ndarray  # (examples, dimensions) unit rows
    sources: tuple[str, ...] = field(default=())

    @classmethod
    def build(cls, embedder: Embedder, intents: Sequence[Intent], learned: Iterable[LabelledText] = ()) -> IntentModel:
        import numpy as np

        names = tuple(i.name for i in intents)
        index = {name: n for n, name in enumerate(names)}
        texts: list[str] = []
        labels: list[int] = []
        sources: list[str] = []
        for intent in intents:
            for example in intent.examples:
                texts.append(example)
                labels.append(index[intent.name])
                sources.append("yaml")
        for item in learned:
            if item.intent in index and item.text.strip():
                texts.append(item.text)
                labels.append(index[item.intent])
                sources.append(item.source)
        vectors = embedder.embed(texts) if texts else np.zeros((0, 256), dtype=np.float32)
        keep = np.linalg.norm(vectors, axis=1) > 0
        return cls(
            names,
            np.asarray(labels, dtype=np.int32)[keep],
            vectors[keep],
            tuple(s for s, k in zip(sources, keep, strict=True) if k),
        )

    @functools.cached_property
    def _nearest_layout(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Where each intent's NEAREST best examples sit once the similarities are sorted by
        (intent, similarity): which intents have examples, the positions to gather, where each
        intent's run starts among them and its length (float32, as ``mean`` divides)."""
        import numpy as np

        per_label = np.bincount(self.labels, minlength=len(self.names)) if len(self.labels) else np.zeros(0, int)
        ends = np.cumsum(per_label)
        present = per_label > 0
        runs = [np.arange(end - min(count, NEAREST), end) for end, count in zip(ends, per_label, strict=True) if count]
        take = np.concatenate(runs) if runs else np.zeros(0, dtype=np.int64)
        counts = np.asarray([len(run) for run in runs], dtype=np.int64)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64) if runs else counts
        return present, take, starts, counts.astype(np.float32)

    def classify(self, vector: np.ndarray) -> IntentGuess:
        """The intent nearest to a unit ``vector`` (from the same embedder)."""
        return self.classify_many(vector.reshape(1, -1))[0]

    def classify_many(self, vectors: np.ndarray) -> list[IntentGuess]:
        """:meth:`classify` of each row of ``vectors`` (unit rows, one per ticket), the batch at
        once: one product with every example, one row-wise sort by (intent, similarity), one
        gather and one sum, where each ticket made a dozen numpy calls of its own.

        The same answer for a row whatever else is in the batch: the similarities come from
        ``einsum``, whose sum for one cell does not depend on the other rows (a BLAS matrix
        product's does: it blocks and orders its sums by the shape, and a batch of 32 then
        differs from a batch of one in the last bits); :meth:`classify` is a batch of one."""
        import numpy as np

        rows = vectors.reshape(len(vectors), -1) if len(vectors) else np.zeros((0, 0), dtype=np.float32)
        unknown = IntentGuess(UNKNOWN, 0.0, 0.0)
        if not self.names or len(self.labels) == 0 or len(rows) == 0:
            return [unknown] * len(rows)
        similarities = np.einsum("ij,kj->ik", rows, self.vectors)
        present, take, starts, counts = self._nearest_layout
        # each intent's NEAREST most similar examples, per row: one sort by (intent, similarity)
        # and a gather (float32, added in the same order, divided as ``mean`` divides)
        labels = np.broadcast_to(self.labels, similarities.shape)
        order = np.lexsort((similarities, labels), axis=-1)
        nearest = np.take_along_axis(similarities, order, axis=-1)[:, take]
        scores = np.full((len(rows), len(self.names)), -1.0, dtype=np.float64)
        scores[:, present] = np.add.reduceat(nearest, starts, axis=-1) / counts
        best = np.argmax(scores, axis=-1)
        top = scores[np.arange(len(rows)), best]
        shifted = np.exp((scores - top[:, None]) / _SOFTMAX_TEMPERATURE)
        confidences = shifted[np.arange(len(rows)), best] / shifted.sum(axis=-1)
        nonzero = np.any(rows, axis=-1)
        found: list[IntentGuess] = []
        for row in range(len(rows)):
            similarity = round(float(top[row]), 4)
            if not nonzero[row]:
                found.append(unknown)
            elif top[row] < MIN_SIMILARITY:
                found.append(IntentGuess(UNKNOWN, 0.0, similarity))
            else:
                found.append(IntentGuess(self.names[best[row]], round(float(confidences[row]), 4), similarity))
        return found


class ExampleSource(Protocol):
    """Where :func:`learn` reads past tickets: a workspace (:class:`WorkspaceExamples`) or the
    team server's database (``server.assist``), SQLite or PostgreSQL."""

    def tag_count(self, tag: str) -> int:
        """How many tickets carry ``tag``."""
        ...

    def tagged(self, tag: str, limit: int) -> list[str]:
        """The newest unmerged tickets carrying ``tag``, newest first."""
        ...

    def tags_of(self, ticket_ids: list[str]) -> dict[str, list[str]]:
        """Each ticket's tags."""
        ...

    def texts(self, ticket_ids: list[str]) -> dict[str, str]:
        """Each ticket's model text (:func:`.tickets.compose`; erased tickets are empty)."""
        ...


class WorkspaceExamples:
    """Past tickets of a workspace's SQLite database."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def tag_count(self, tag: str) -> int:
        return int(self.connection.execute("SELECT count(*) FROM ticket_tag WHERE tag = ?", (tag,)).fetchone()[0])

    def tagged(self, tag: str, limit: int) -> list[str]:
        rows = self.connection.execute(
            "SELECT t.id FROM ticket_tag g JOIN ticket t ON t.id = g.ticket_id "
            "WHERE g.tag = ? AND t.merged_into_id IS NULL ORDER BY t.created_at DESC LIMIT ?",
            (tag, limit),
        ).fetchall()
        return [str(row[0]) for row in rows]

    def tags_of(self, ticket_ids: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for start in range(0, len(ticket_ids), 500):
            chunk = ticket_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for ticket_id, tag in self.connection.execute(
                f"SELECT ticket_id, tag FROM ticket_tag WHERE ticket_id IN ({marks})", chunk
            ):
                found.setdefault(ticket_id, []).append(tag)
        return found

    def texts(self, ticket_ids: list[str]) -> dict[str, str]:
        from supportdesk.assist.tickets import ticket_texts

        return ticket_texts(self.connection, ticket_ids)


def learn(
    source: sqlite3.Connection | ExampleSource,
    intents: Sequence[Intent],
    *,
    corrections: Mapping[str, str] | None = None,
    per_intent: int = 50,
) -> list[LabelledText]:
    """Examples from past tickets: corrected tickets, then the newest tickets tagged as each
    intent (``per_intent`` at most). Erased and empty tickets teach nothing."""
    tickets = WorkspaceExamples(source) if isinstance(source, sqlite3.Connection) else source
    corrections = dict(corrections or {})
    chosen: dict[str, str] = {}
    for intent in intents:
        if not intent.tags:
            continue
        rarest = intent.tags[0] if len(intent.tags) == 1 else min(intent.tags, key=lambda t: (tickets.tag_count(t), t))
        ids = [t for t in tickets.tagged(rarest, per_intent * 3) if t not in corrections]
        tags = tickets.tags_of(ids)
        taken = 0
        for ticket_id in ids:
            if taken >= per_intent:
                break
            if intent_for_tags(intents, tags.get(ticket_id, ())) == intent.name:
                chosen[ticket_id] = intent.name
                taken += 1
    known = {i.name for i in intents}
    for ticket_id, name in corrections.items():
        if name in known:
            chosen[ticket_id] = name
    texts = tickets.texts(list(chosen))
    return [
        LabelledText(chosen[ticket_id], text, ticket_id)
        for ticket_id, text in texts.items()
        if text and ticket_id in chosen
    ]


def corrections_from_rows(rows: Iterable[tuple[Any, Any]]) -> dict[str, str]:
    """``{ticket_id: intent}`` from audit rows ``(entity_id, after)`` oldest first (the newest
    correction wins); ``after`` is the stored JSON, as text (SQLite) or decoded (PostgreSQL)."""
    import json

    found: dict[str, str] = {}
    for ticket_id, after in rows:
        value: Any = after
        if isinstance(value, str) and value.startswith('"'):
            try:
                value = json.loads(value)
            except ValueError:
                continue
        if isinstance(value, str) and NAME.match(value):
            found[str(ticket_id)] = value
    return found


def corrections_from_audit(
    connection: sqlite3.Connection, *, mutation: str = "ticket.triage", field: str = "intent"
) -> dict[str, str]:
    """Intents agents set by hand, newest last: the audit rows of ``mutation`` on ``field``
    whose actor is an agent (the server's own triage writes with no actor)."""
    rows = connection.execute(
        "SELECT entity_id, after FROM audit_event WHERE entity = 'ticket' AND mutation = ? AND field = ? "
        "AND actor_id IS NOT NULL ORDER BY id",
        (mutation, field),
    ).fetchall()
    return corrections_from_rows(rows)
