"""Parse the queue's query language into a list of terms.

One parser serves the console's filter bar, the CLI's ``--query`` and saved views::

    status:open,pending -tag:spam priority>=high assignee:me created>7d "card declined" refund*

Terms are separated by spaces and all must hold. A term is ``field:value[,value…]`` (any of the
values), ``field>value`` / ``>=`` / ``<`` / ``<=`` for ordered fields, a ``"quoted phrase"`` or a
free word (``word*`` matches words starting with ``word``); a leading ``-`` negates a term.
Anything else is a :class:`QueryError` that names the position and what was expected — the
parser never raises anything else, whatever the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from supportdesk.errors import SupportdeskError
from supportdesk.store import ticket_fields
from supportdesk.store.ticket_fields import TicketField
from supportdesk.store.times import parse_duration


class QueryError(SupportdeskError, ValueError):
    """A query that does not parse; ``position`` is a 0-based index into the query text."""

    def __init__(self, message: str, position: int, expected: str | None = None) -> None:
        self.message = message
        self.position = position
        self.expected = expected
        text = f"{message} at position {position + 1}"
        if expected:
            text += f": expected {expected}"
        super().__init__(text)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    ops: frozenset[str]
    kind: str  # enum | text | time | number | id | flag
    choices: tuple[str, ...] = ()
    help: str = ""


_EQ = frozenset({":"})
#: ``sla:`` values besides ``due<AGE`` / ``due>AGE`` (see the compiler for their meaning).
SLA_STATES = ("breached", "paused", "active", "none")
_ORDERED = frozenset({":", ">", ">=", "<", "<="})
#: How the parser reads the value of a field of each kind (see ``store.ticket_fields``).
_PARSE_KIND = {
    "choice": "enum",
    "text": "text",
    "agent": "text",
    "group": "text",
    "customer": "text",
    "tags": "text",
    "number": "number",
    "time": "time",
    "id": "id",
}


def _field_spec(field: TicketField) -> FieldSpec:
    assert field.term is not None
    ordered = field.ordered or field.kind in ("number", "time")
    return FieldSpec(
        field.term, _ORDERED if ordered else _EQ, _PARSE_KIND[field.kind], field.choices, field.example.split(", ")[0]
    )


#: The terms of ticket fields (choices first, so an error lists ``status`` first), then the terms
#: that are not a field of the ticket.
FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        *(_field_spec(f) for f in ticket_fields.FIELDS if f.term and f.kind == "choice"),
        *(_field_spec(f) for f in ticket_fields.FIELDS if f.term and f.kind != "choice"),
        FieldSpec("org", _EQ, "text", help="org:acme"),
        FieldSpec("is", _EQ, "flag", ("unread", "unassigned", "merged", "followup"), "is:unread"),
        FieldSpec("sla", _EQ, "sla", SLA_STATES, "sla:breached, sla:due<1h"),
        FieldSpec("sort", _EQ, "sort", help="sort:updated-desc"),
    )
}

SORT_KEYS = (
    "updated",
    "created",
    "number",
    "priority",
    "status",
    "subject",
    "requester",
    "assignee",
    "group",
    "channel",
    "sla",
    *(f.name for f in ticket_fields.plain_fields() if f.sortable),
)
SORTS: tuple[str, ...] = (
    *(f"{key}-{way}" for key in SORT_KEYS for way in ("desc", "asc")),
    "newest",
    "relevance",
)

_OPS = (">=", "<=", ":", ">", "<")
_TIME_WORDS = ("today", "yesterday")


@dataclass(frozen=True)
class Term:
    """One condition. ``field`` is None for free text (``phrase`` when it was quoted)."""

    field: str | None
    op: str
    values: tuple[str, ...]
    negated: bool = False
    position: int = 0
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...]
    sort: str | None = None
    text: str = ""

    @property
    def filters(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.field is not None)

    @property
    def words(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.field is None)

    @property
    def has_text(self) -> bool:
        return any(t.field is None and not t.negated for t in self.terms)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def quoted(self) -> str:
        """Read a ``"…"`` string (``\\"`` and ``\\\\`` escape); the scanner is on the quote."""
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text) and self.text[self.pos + 1] in '"\\':
                chars.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == '"':
                self.pos += 1
                return "".join(chars)
            chars.append(char)
            self.pos += 1
        raise QueryError("unterminated quote", start, 'a closing "')

    def bare(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and not self.text[self.pos].isspace():
            if self.text[self.pos] == '"':
                break
            self.pos += 1
        return self.text[start : self.pos]


def parse(text: str) -> Query:
    """Parse ``text``; raise :class:`QueryError` for anything that is not the language."""
    if len(text) > 2000:
        raise QueryError("the query is too long", 2000, "at most 2000 characters")
    scanner = _Scanner(text)
    terms: list[Term] = []
    sort: str | None = None
    while True:
        scanner.skip_spaces()
        if scanner.at_end():
            break
        start = scanner.pos
        negated = False
        if scanner.peek() == "-" and scanner.pos + 1 < len(text) and not text[scanner.pos + 1].isspace():
            negated = True
            scanner.pos += 1
        if scanner.peek() == '"':
            phrase = scanner.quoted()
            _expect_separator(scanner)
            if phrase.strip():
                terms.append(Term(None, ":", (phrase,), negated, start, phrase=True))
            continue
        word_start = scanner.pos
        word = scanner.bare()
        if not word:
            raise QueryError("a term cannot start with a quote here", scanner.pos, "a space before the quote")
        field_name, op, rest = _split_field(word)
        if field_name is None:
            if scanner.peek() == '"':
                raise QueryError("a quote inside a word", scanner.pos, "a space before the quote")
            prefix = word.endswith("*") and len(word) > 1
            terms.append(
                Term(
                    None,
                    ":",
                    (word.rstrip("*") if prefix else word,),
                    negated,
                    start,
                    prefix=prefix,
                )
            )
            continue
        spec = FIELDS.get(field_name.lower())
        if spec is None:
            raise QueryError(
                f"unknown field {field_name!r}",
                word_start,
                f"one of {', '.join(FIELDS)} (or quote the text to search for it)",
            )
        value_pos = word_start + len(field_name) + len(op)
        if rest == "" and scanner.peek() == '"':
            value_pos = scanner.pos
            rest = scanner.quoted()
            values: tuple[str, ...] = (rest,)
        else:
            if scanner.peek() == '"':
                raise QueryError("a quote inside a value", scanner.pos, "a comma list or one quoted value")
            values = tuple(v for v in rest.split(","))
        _expect_separator(scanner)
        if op not in spec.ops:
            allowed = " ".join(sorted(spec.ops))
            raise QueryError(f"{spec.name} does not take {op}", word_start + len(field_name), f"one of {allowed}")
        if not values or any(v == "" for v in values):
            raise QueryError(f"{spec.name} needs a value", value_pos, f"a value, e.g. {spec.help}")
        if op != ":" and len(values) > 1:
            raise QueryError(f"{spec.name}{op} takes one value", value_pos, "a single value")
        _check_values(spec, op, values, value_pos)
        if spec.name == "sort":
            if negated:
                raise QueryError("sort cannot be negated", start, "sort:KEY-desc")
            sort = values[0].lower()
            continue
        terms.append(Term(spec.name, op, tuple(_canonical(spec, v) for v in values), negated, start))
    return Query(tuple(terms), sort, text)


def _expect_separator(scanner: _Scanner) -> None:
    if not scanner.at_end() and not scanner.peek().isspace():
        raise QueryError("terms must be separated by spaces", scanner.pos, "a space")


def _split_field(word: str) -> tuple[str | None, str, str]:
    """``status:open`` → ("status", ":", "open"); a plain word → (None, "", word)."""
    for index, char in enumerate(word):
        if char in ":<>=":
            name = word[:index]
            if not name or not (name.replace("_", "").isalpha() and name.isascii()):
                return None, "", word
            for op in _OPS:
                if word.startswith(op, index):
                    return name, op, word[index + len(op) :]
            return None, "", word
        if not (char.isalpha() or char == "_") or not char.isascii():
            return None, "", word
    return None, "", word


def _canonical(spec: FieldSpec, value: str) -> str:
    if spec.kind in ("enum", "flag", "sort", "sla"):
        return value.lower().replace("-", "_") if spec.kind == "enum" else value.lower()
    if spec.kind in ("text",):
        return value.lower()
    return value


def _check_values(spec: FieldSpec, op: str, values: tuple[str, ...], position: int) -> None:
    offset = position
    for value in values:
        lowered = value.lower()
        if spec.kind == "enum" and lowered.replace("-", "_") not in spec.choices:
            raise QueryError(f"{value!r} is not a {spec.name}", offset, f"one of {', '.join(spec.choices)}")
        if spec.kind == "flag" and lowered not in spec.choices:
            raise QueryError(f"{value!r} is not a flag", offset, f"one of {', '.join(spec.choices)}")
        if spec.kind == "sort" and lowered not in SORTS:
            raise QueryError(f"{value!r} is not a sort", offset, f"one of {', '.join(SORTS)}")
        if spec.kind == "number" and not (value.isdigit() and value.isascii() and len(value) <= 12):
            raise QueryError(f"{value!r} is not a ticket number", offset, "digits, e.g. 1042")
        if spec.kind == "time" and parse_time_value(value) is None:
            raise QueryError(
                f"{value!r} is not a time",
                offset,
                "an age such as 30m, 2h, 7d, 4w, a date such as 2026-01-31, today or yesterday",
            )
        if spec.kind == "time" and op == ":" and parse_duration(value) is not None:
            raise QueryError(
                f"{spec.name}:{value} is ambiguous",
                offset - 1,
                f"{spec.name}<{value} (newer) or {spec.name}>{value} (older)",
            )
        if spec.kind == "sla" and lowered not in spec.choices and parse_sla_due(lowered) is None:
            raise QueryError(
                f"{value!r} is not an SLA state",
                offset,
                f"one of {', '.join(spec.choices)}, or due<AGE / due>AGE such as due<1h",
            )
        if spec.kind == "id" and len(value) > 36:
            raise QueryError(f"{value!r} is not a ticket id", offset, "a UUID")
        offset += len(value) + 1


def parse_time_value(value: str) -> object | None:
    """A duration (timedelta), a date, an aware datetime, a day keyword — or None."""
    duration = parse_duration(value)
    if duration is not None:
        return duration
    lowered = value.lower()
    if lowered in _TIME_WORDS:
        return lowered
    if not value.isascii():
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        if len(value) <= 32 and "T" in value:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed
    except ValueError:
        return None
    return None


def parse_sla_due(value: str) -> tuple[str, timedelta] | None:
    """``due<1h`` → ("<", 1 hour); ``due>30m`` → (">", 30 minutes); anything else → None."""
    if not value.startswith("due") or len(value) < 5 or value[3] not in "<>":
        return None
    duration = parse_duration(value[4:])
    return (value[3], duration) if duration is not None else None
