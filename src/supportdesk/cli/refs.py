"""What people type for a ticket, an agent, a group, a macro or a customer, turned into ids.

Every command names things the same way: a ticket by number (``1042``, ``#1042``), id or id
prefix; an agent by email, name, id or ``me``; a group by name, address or id; ``none`` clears.
A name that matches nothing is a one-line error with exit code 3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from supportdesk.cli.session import Session
    from supportdesk.store.reads import CustomerHit
    from supportdesk.store.viewer import Viewer


def ticket_id(session: Session, ref: str) -> str:
    """A ticket id from a number (``1042``/``#1042``), an id or an id prefix; exit 3 if none."""
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.store.reads import resolve_ticket

    with session.workspace().reading() as connection:
        found = resolve_ticket(connection, ref)
    if found is None:
        fail(f"no ticket {ref}", NOT_FOUND)
    return found


def visible_ticket_id(session: Session, ref: str) -> str:
    """Like :func:`ticket_id`, for a ticket the workspace's agent may see: one of another group
    is "no ticket N" (exit 3) too, so a read never tells whether it exists (store.viewer)."""
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.store.reads import resolve_ticket
    from supportdesk.store.viewer import ticket_visible

    viewer = session.viewer()
    with session.workspace().reading() as connection:
        found = resolve_ticket(connection, ref)
        if found is None or not ticket_visible(connection, viewer, found):
            fail(f"no ticket {ref}", NOT_FOUND)
    return found


def ticket_with_label(session: Session, ref: str) -> tuple[str, str]:
    """:func:`ticket_id` and :func:`ticket_label` in one read: a write command that names its
    ticket in what it prints (``noted on #1042``) asked the workspace twice per line of a
    ``batch``. The label does not change with a note or a reply (only the authority numbers
    tickets, when it creates them)."""
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.store.reads import resolve_ticket_label

    with session.workspace().reading() as connection:
        found = resolve_ticket_label(connection, ref)
    if found is None:
        fail(f"no ticket {ref}", NOT_FOUND)
    return found


def ticket_label(session: Session, ticket_id: str) -> str:
    """``#1042``, or the id of a ticket that has no number yet."""
    with session.workspace().reading() as connection:
        row = connection.execute("SELECT number FROM ticket WHERE id = ?", (ticket_id,)).fetchone()
    return f"#{row[0]}" if row and row[0] else ticket_id


def agent_id(session: Session, value: str) -> str | None:
    """``me``, ``none`` or an agent's email, name or id → the agent id (None for none)."""
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.store.lookups import find_agent

    if value.strip().lower() == "none":
        return None
    if value.strip().lower() == "me":
        me = session.me()
        if not me:
            fail("this workspace acts as nobody yet: run 'supportdesk config set me EMAIL'")
        return str(me)
    with session.workspace().reading() as connection:
        agent = find_agent(connection, value)
    if agent is None:
        fail(f"no agent {value}", NOT_FOUND)
    return str(agent["id"])


def group_id(session: Session, value: str) -> str | None:
    """``none`` or a group's name, address or id → the group id (None for none)."""
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.store.lookups import find_group

    if value.strip().lower() == "none":
        return None
    with session.workspace().reading() as connection:
        group = find_group(connection, value)
    if group is None:
        fail(f"no group {value}", NOT_FOUND)
    return str(group["id"])


def macro(session: Session, ref: str) -> dict[str, Any]:
    """The macro called ``ref`` (by name or id); exit 3 if none."""
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.store.lookups import find_macro

    with session.workspace().reading() as connection:
        found = find_macro(connection, ref)
    if found is None:
        fail(f"no macro {ref}", NOT_FOUND)
    return found


def customer_id(session: Session, ref: str) -> str:
    """A customer id from any address (normalised as the channel would), a name or an id."""
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.domain.errors import DomainError
    from supportdesk.domain.identities import guess_kind, normalize_identity
    from supportdesk.store.reads import resolve_customer

    with session.workspace().reading() as connection:
        found = resolve_customer(connection, ref)
        if found is None:
            try:
                found = resolve_customer(connection, normalize_identity(guess_kind(ref), ref))
            except DomainError:
                found = None
    namesakes: list[CustomerHit] = []
    if found is None:
        viewer = session.viewer()  # a namesake's ticket count: of the tickets the agent may see
        with session.workspace().reading() as connection:
            namesakes = customers_named(connection, ref, viewer)
    if found is None and namesakes:
        listed = "; ".join(
            f"{hit.address or '(no address)'} ({hit.tickets} ticket{'s' if hit.tickets != 1 else ''}, id {hit.id})"
            for hit in namesakes[:NAMESAKES]
        )
        more = f"; … {len(namesakes) - NAMESAKES} more" if len(namesakes) > NAMESAKES else ""
        fail(f"{len(namesakes)} customers are named {ref!r}, name one by address or id: {listed}{more}")
    if found is None:
        fail(f"no customer {ref}", NOT_FOUND)
    return found


#: At most this many namesakes are listed when a name matches several customers.
NAMESAKES = 10


def customers_named(connection: Any, name: str, viewer: Viewer | None = None) -> list[CustomerHit]:
    """The live customers called exactly ``name`` (any case): a name two people share is not an
    answer, the list of them is (each with the count of their tickets ``viewer`` may see)."""
    from supportdesk.store.reads import search_customers

    wanted = name.strip().lower()
    if not wanted:
        return []
    hits = search_customers(connection, wanted, limit=200, viewer=viewer)
    return [hit for hit in hits if hit.name.strip().lower() == wanted]


def live_customer(session: Session, customer_id: str) -> tuple[str, bool]:
    """The record that survived merges, and whether ``customer_id`` was merged away."""
    with session.workspace().reading() as connection:
        current, hops = customer_id, 0
        while hops < 10:
            row = connection.execute("SELECT merged_into_id FROM customer WHERE id = ?", (current,)).fetchone()
            if row is None or row[0] is None:
                break
            current, hops = row[0], hops + 1
    return current, current != customer_id


def enum_value(name: str, value: str) -> str:
    """A choice of the ticket field ``name`` as typed (``Pending``, ``on-hold``, ``hold``) → its
    stored value, checked against the ticket field table (``store.ticket_fields``)."""
    from supportdesk.cli.errors import fail
    from supportdesk.store.ticket_fields import FieldValueError, field

    wanted = "on_hold" if name == "status" and value.strip().lower() == "hold" else value
    try:
        return str(field(name).clean(wanted))
    except FieldValueError as error:
        fail(str(error))


def requester(session: Session, address: str, name: str | None) -> dict[str, Any]:
    """A requester reference: an existing customer (by id or any address) or a new address."""
    from supportdesk.cli.errors import fail
    from supportdesk.domain.errors import DomainError
    from supportdesk.domain.identities import guess_kind, normalize_identity
    from supportdesk.store.reads import resolve_customer

    with session.workspace().reading() as connection:
        row = connection.execute("SELECT id FROM customer WHERE id = ?", (address.strip(),)).fetchone()
    if row:
        return {"customer_id": row[0]}
    kind = guess_kind(address)
    try:
        value = normalize_identity(kind, address)
    except DomainError as error:
        fail(f"--requester: {error.message}")
    with session.workspace().reading() as connection:
        known = resolve_customer(connection, value)
    if known:
        return {"customer_id": known}
    return {"kind": kind.value, "value": value, "name": name}


def seconds(text: str) -> int:
    """``300``, ``90s``, ``5m``, ``1h`` → seconds; anything else is a usage error."""
    from supportdesk.cli.errors import fail
    from supportdesk.store.times import parse_duration

    if text.isdigit():
        return int(text)
    duration = parse_duration(text)
    if duration is None:
        fail(f"{text!r} is not a duration: write 300, 90s, 5m or 1h")
    return int(duration.total_seconds())
