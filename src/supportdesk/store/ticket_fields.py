"""The one table of ticket fields: what each is, and how every part of supportdesk treats it.

A row says what a field holds (its kind, its column, its allowed values), how a person finds
it (its query-language term, its ``--set`` key, its console label, picker and queue column),
who may change it and through which named mutation (so how it is audited: the mutation's audit
event names the field's column), and whether it travels with sync, the REST API and exports.

Everything that handles ticket fields reads this table rather than a list of its own: the
query parser and compiler (:mod:`supportdesk.store.query`), ``tickets update --set`` and the
bulk planner (:mod:`supportdesk.domain.bulk`), the console's pickers, ticket header and queue
columns (:mod:`supportdesk.tui.choices`, :mod:`supportdesk.tui.widgets.queue_columns`), the
server's REST ticket output, exports and imports (:mod:`supportdesk.store.exports`,
``ticket.import``). A field of kind ``choice`` or ``text`` with ``mutation="ticket.set_field"``
needs nothing more than its row here, its column in ``store.models.Ticket`` and a migration:
``tests/domain/test_ticket_fields.py`` checks that every consumer understands every row.

It lives in ``store`` because the query compiler, the lowest of its readers, does; it imports
nothing above the store's own vocabularies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from supportdesk.errors import SupportdeskError
from supportdesk.store.enums import Channel, Priority, Role, Status, TicketType

#: ``choice``: one of ``choices``; ``text``: free text; ``agent`` / ``group`` / ``customer`` /
#: ``ticket``: the id of such a row; ``number``, ``time``, ``id``, ``json``: what they say;
#: ``tags``: the ticket's tags (rows of ``ticket_tag``, not a column).
Kind = Literal["choice", "text", "agent", "group", "customer", "ticket", "number", "time", "id", "json", "tags"]

FULL_AGENTS = frozenset({Role.ADMIN, Role.AGENT})
#: The generic mutation for a field that has none of its own (see ``ticket.set_field``).
SET_FIELD = "ticket.set_field"


class FieldValueError(SupportdeskError, ValueError):
    """A value a field does not take; the message names the field and what it takes."""


@dataclass(frozen=True)
class QueueColumn:
    """A field's column in the console's queue. ``width`` 0 takes what the others leave;
    ``drops`` orders the columns that give way on a narrow terminal (lowest first; None: stays)."""

    title: str
    width: int
    position: int
    align: str = "left"
    drops: int | None = None


@dataclass(frozen=True)
class TicketField:
    """One ticket field; see the module docstring. ``None`` in a role means "not offered there"."""

    name: str
    label: str
    kind: Kind
    column: str | None = None
    choices: tuple[str, ...] = ()
    #: The choices are in order (the query then takes ``>``, ``>=``, ``<``, ``<=``).
    ordered: bool = False
    #: Choices nobody sets by hand (a ticket is only ever *created* new).
    never_set: tuple[str, ...] = ()
    #: Query-language term (``priority:high``); None: not a term of its own.
    term: str | None = None
    #: ``tickets update --set KEY=VALUE``; None: ``--set`` does not change it.
    set_key: str | None = None
    #: Place in the console's field menu (the ticket pane's ``e``); None: not there.
    picker: int | None = None
    #: Place in ``;`` (one change to every tagged row); None: not there.
    bulk: int | None = None
    #: Place in the ticket pane's header line of fields; None: not shown there.
    header: int | None = None
    queue: QueueColumn | None = None
    #: Sorted by its column (``sort:language-asc``) when the query language has no special key.
    sortable: bool = False
    #: The named mutation that changes it, and that mutation's argument carrying the value.
    mutation: str | None = None
    argument: str | None = None
    #: Whether that mutation takes ``seen`` (the value the agent saw, for "changed meanwhile").
    seen: bool = False
    #: Who may change it (the mutation's roles).
    writers: frozenset[Role] = FULL_AGENTS
    #: The field of the audit event a change writes (the column, for a plain update).
    audit: str | None = None
    synced: bool = True
    rest: bool = True
    export: bool = True
    #: A query example, shown by the parser's errors and in the README.
    example: str = ""
    #: What it holds, in a few words (the README's table of fields).
    help: str = ""
    #: The largest text a ``text`` field takes.
    max_length: int = 200

    @property
    def store_column(self) -> str:
        return self.column or self.name

    @property
    def settable_choices(self) -> tuple[str, ...]:
        return tuple(choice for choice in self.choices if choice not in self.never_set)

    def clean(self, value: Any) -> Any:
        """``value`` as the field stores it, or :class:`FieldValueError` saying what it takes.

        Choices are matched without regard to case, ``-`` or spaces (``On-Hold`` is ``on_hold``);
        ids and names of agents and groups are left for the caller to resolve.
        """
        if value is None:
            return None
        if self.kind == "choice":
            wanted = str(value).strip().lower().replace("-", "_").replace(" ", "_")
            if wanted not in self.choices:
                raise FieldValueError(f"{value!r} is not a {self.name}: choose one of {', '.join(self.choices)}")
            return wanted
        if self.kind == "text":
            text = " ".join(str(value).split())
            if len(text) > self.max_length:
                raise FieldValueError(f"a {self.name} is at most {self.max_length} characters")
            return text or None
        return value

    def write(self, ticket_id: str, value: Any, *, seen: Any = None) -> tuple[str, dict[str, Any]]:
        """The mutation (name, arguments) that sets this field of a ticket to ``value``."""
        if self.mutation is None or self.argument is None:
            raise FieldValueError(f"{self.name} is not changed by hand")
        if self.mutation == SET_FIELD:
            args: dict[str, Any] = {"ticket_id": ticket_id, "field": self.name, "value": value}
        else:
            args = {"ticket_id": ticket_id, self.argument: value}
        if self.seen:
            args["seen"] = seen
        return self.mutation, args


def _choices(enum: Any) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


#: Every ticket field, in the order exports list their columns.
FIELDS: tuple[TicketField, ...] = (
    TicketField("id", "Id", "id", term="id", synced=True, example="id:0190c0de-…", help="the ticket's id (a UUIDv7)"),
    TicketField(
        "number",
        "Number",
        "number",
        term="number",
        queue=QueueColumn("#", 7, 10, "right"),
        example="number:1042, number>=1000",
        help="the human number the server gives (#1042)",
    ),
    TicketField(
        "subject",
        "Subject",
        "text",
        picker=80,
        queue=QueueColumn("Subject", 0, 20),
        mutation="ticket.set_subject",
        argument="subject",
        seen=True,
        audit="subject",
        max_length=1000,
        help="one line; searched as free text",
    ),
    TicketField(
        "status",
        "Status",
        "choice",
        choices=_choices(Status),
        ordered=True,
        never_set=(Status.NEW.value,),
        term="status",
        set_key="status",
        picker=10,
        bulk=10,
        header=10,
        queue=QueueColumn("Status", 7, 50),
        mutation="ticket.set_status",
        argument="status",
        seen=True,
        audit="status",
        example="status:open,pending, status<solved",
        help="new < open < pending < on_hold < solved < closed (closed is final)",
    ),
    TicketField(
        "priority",
        "Priority",
        "choice",
        choices=_choices(Priority),
        ordered=True,
        term="priority",
        set_key="priority",
        picker=20,
        bulk=20,
        header=20,
        queue=QueueColumn("Priority", 8, 60, drops=40),
        mutation="ticket.set_priority",
        argument="priority",
        seen=True,
        audit="priority",
        example="priority:high, priority>=high",
        help="low < normal < high < urgent",
    ),
    TicketField(
        "type",
        "Type",
        "choice",
        choices=_choices(TicketType),
        term="type",
        set_key="type",
        picker=30,
        header=30,
        mutation="ticket.set_type",
        argument="type",
        seen=True,
        audit="type",
        example="type:incident",
        help="question, incident, problem or task",
    ),
    TicketField(
        "channel",
        "Channel",
        "choice",
        choices=_choices(Channel),
        term="channel",
        queue=QueueColumn("Channel", 7, 90, drops=10),
        example="channel:email",
        help="where the ticket came from (set when it is created)",
    ),
    TicketField(
        "group",
        "Group",
        "group",
        column="group_id",
        term="group",
        set_key="group",
        picker=40,
        bulk=40,
        header=40,
        queue=QueueColumn("Group", 10, 80, drops=20),
        mutation="ticket.assign",
        argument="group_id",
        audit="group_id",
        example='group:tier2, group:"tier 2", group:none',
        help="a group's name, address or id; none",
    ),
    TicketField(
        "assignee",
        "Assignee",
        "agent",
        column="assignee_id",
        term="assignee",
        set_key="assignee",
        picker=50,
        bulk=30,
        header=50,
        queue=QueueColumn("Assignee", 14, 70, drops=30),
        mutation="ticket.assign",
        argument="assignee_id",
        audit="assignee_id",
        example="assignee:me, assignee:none, assignee:dana@…",
        help="an agent's email, name or id; me; none",
    ),
    TicketField(
        "requester",
        "Requester",
        "customer",
        column="requester_id",
        term="requester",
        queue=QueueColumn("Requester", 16, 40, drops=50),
        example="requester:alice@example.com",
        help="the customer, by any address or exact name",
    ),
    TicketField("problem", "Problem", "ticket", column="problem_id", help="the problem ticket behind an incident"),
    TicketField("merged_into", "Merged into", "ticket", column="merged_into_id", help="set by a merge"),
    TicketField("follow_up_of", "Follow-up of", "ticket", column="follow_up_of_id", help="a closed ticket's follow-up"),
    TicketField("fields", "Custom fields", "json", rest=False, help="custom fields of an import or a web form"),
    TicketField(
        "created",
        "Created",
        "time",
        column="created_at",
        term="created",
        example="created>7d, created>2026-01-01",
        help="when it was opened",
    ),
    TicketField(
        "updated",
        "Updated",
        "time",
        column="updated_at",
        term="updated",
        queue=QueueColumn("Updated", 8, 100, "right", drops=60),
        example="updated<2h",
        help="when anything last happened to it",
    ),
    TicketField("first_response", "First response", "time", column="first_response_at", help="the first public reply"),
    TicketField(
        "solved",
        "Solved",
        "time",
        column="solved_at",
        term="solved",
        example="solved:today",
        help="when it was solved",
    ),
    TicketField(
        "language",
        "Language",
        "text",
        term="language",
        set_key="language",
        picker=70,
        sortable=True,
        mutation=SET_FIELD,
        argument="value",
        seen=True,
        audit="language",
        max_length=35,
        example="language:de",
        help="the customer's language, a tag such as de or pt-BR",
    ),
    TicketField(
        "tags",
        "Tags",
        "tags",
        term="tag",
        picker=60,
        bulk=50,
        header=60,
        mutation="ticket.tag",
        argument="tags",
        audit="tag.added",
        export=False,
        rest=False,
        example="tag:billing, -tag:spam",
        help="added and removed one by one (--add-tag, --remove-tag)",
    ),
)

BY_NAME: dict[str, TicketField] = {f.name: f for f in FIELDS}
BY_TERM: dict[str, TicketField] = {f.term: f for f in FIELDS if f.term}
BY_SET_KEY: dict[str, TicketField] = {f.set_key: f for f in FIELDS if f.set_key}


def field(name: str) -> TicketField:
    """The field called ``name`` (a KeyError for anything else: callers name known fields)."""
    return BY_NAME[name]


def columns(*, export: bool | None = None, rest: bool | None = None) -> tuple[str, ...]:
    """The ticket columns of the fields (exported ones, or REST ones), in table order."""
    chosen = [
        f
        for f in FIELDS
        if f.kind != "tags" and (export is None or f.export == export) and (rest is None or f.rest == rest)
    ]
    return tuple(f.store_column for f in chosen)


def in_order(attribute: str) -> list[TicketField]:
    """The fields that have a place in ``picker``, ``bulk`` or ``header``, in that order."""
    placed = [f for f in FIELDS if getattr(f, attribute) is not None]
    return sorted(placed, key=lambda f: getattr(f, attribute))


def plain_fields() -> list[TicketField]:
    """Fields of kind choice or text changed by ``ticket.set_field``: the ones no code names."""
    return [f for f in FIELDS if f.mutation == SET_FIELD]
