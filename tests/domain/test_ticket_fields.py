"""Every field of the ticket field table is understood by every part that reads the table.

Parametrized over ``store.ticket_fields.FIELDS``, so a new row is checked by adding it: its
column exists and syncs, its query term compiles and runs, ``--set`` accepts it, its picker,
header and queue column exist when declared, its mutation exists with the table's writers and
audits the table's field, and exports and imports carry it. (The REST output is checked against
a live server in ``tests/server/test_api.py``.)
"""

from __future__ import annotations

from typing import Any

import pytest

from supportdesk.domain import catalog, write
from supportdesk.domain.errors import PermissionDenied, ValidationFailed
from supportdesk.store import reads, ticket_fields
from supportdesk.store.query import FIELDS as TERMS
from supportdesk.store.query import compile_query
from supportdesk.store.selection import ticket_states
from supportdesk.store.ticket_fields import FIELDS, FieldValueError, TicketField
from tests.conftest import Team
from tests.domain.test_mutations import new_ticket, row, ticket

BY_NAME = {f.name: f for f in FIELDS}

#: A value each kind's query term takes.
SAMPLES = {
    "choice": None,  # the field's first choice
    "text": "x",
    "agent": "me",
    "group": "none",
    "customer": "alice@example.com",
    "tags": "refund",
    "number": "1",
    "time": "7d",
    "id": "abc",
}


def _ids(fields: list[TicketField]) -> list[str]:
    return [f.name for f in fields]


WITH_TERM = [f for f in FIELDS if f.term]
WITH_SET_KEY = [f for f in FIELDS if f.set_key]
WITH_MUTATION = [f for f in FIELDS if f.mutation]
COLUMNS = [f for f in FIELDS if f.kind != "tags"]


def _sample(field: TicketField) -> str:
    return field.choices[0] if field.kind == "choice" else SAMPLES[field.kind]


def test_names_terms_and_set_keys_are_unique() -> None:
    for attribute in ("name", "term", "set_key"):
        values = [getattr(f, attribute) for f in FIELDS if getattr(f, attribute)]
        assert len(values) == len(set(values)), attribute


@pytest.mark.parametrize("field", COLUMNS, ids=_ids(COLUMNS))
def test_the_column_exists_and_syncs(field: TicketField) -> None:
    from sqlmodel import SQLModel

    import supportdesk.store.models  # noqa: F401
    from supportdesk.sync.rows import spec

    assert field.store_column in SQLModel.metadata.tables["ticket"].c
    assert (field.store_column in spec("ticket").columns) == field.synced


@pytest.mark.parametrize("field", WITH_TERM, ids=_ids(WITH_TERM))
def test_the_query_term_compiles_and_runs(team: Team, field: TicketField) -> None:
    assert field.term in TERMS
    sample = _sample(field)
    queries = [f"{field.term}:{sample}", f"-{field.term}:{sample}"]
    if field.ordered or field.kind == "number":
        queries += [f"{field.term}>={sample}", f"{field.term}<{sample}"]
    if field.kind == "time":
        queries = [f"{field.term}>{sample}", f"{field.term}:today"]
    new_ticket(team)
    with team.workspace.reading() as connection:
        for query in queries:
            compiled = compile_query(query, me=team.agent.id)
            connection.execute(f"SELECT count(*) FROM ticket t WHERE {compiled.where}", compiled.params).fetchone()


@pytest.mark.parametrize("field", [f for f in WITH_TERM if f.kind == "choice"], ids=lambda f: f.name)
def test_a_choice_term_finds_the_tickets_that_have_it(team: Team, field: TicketField) -> None:
    created = new_ticket(team)
    value = ticket(team, created["ticket_id"])[field.store_column]
    with team.workspace.reading() as connection:
        compiled = compile_query(f"{field.term}:{value}")
        ids = [r[0] for r in connection.execute(f"SELECT t.id FROM ticket t WHERE {compiled.where}", compiled.params)]
    assert created["ticket_id"] in ids


@pytest.mark.parametrize("field", WITH_SET_KEY, ids=_ids(WITH_SET_KEY))
def test_set_accepts_the_field_and_plans_its_mutation(team: Team, field: TicketField) -> None:
    """``--set KEY=VALUE`` parses and resolves (choices checked, agents and groups looked up by
    the CLI's lookups), and the bulk planner turns it into the field's mutation."""
    from supportdesk.cli.session import Session
    from supportdesk.cli.ticket_bulk import build_change

    typed, wanted = {
        "agent": ("sam@acme.test", team.agent.id),
        "group": ("Billing", team.billing),
        "text": ("de", "de"),
    }.get(field.kind, ("", None))
    created = new_ticket(team)
    if field.kind == "choice":
        current = ticket(team, created["ticket_id"])[field.store_column]
        wanted = next(c for c in field.settable_choices if c != current)
        typed = wanted.upper().replace("_", "-")
    session = Session(workspace_flag=str(team.workspace.root))
    try:
        change = build_change(session, [f"{field.set_key}={typed}"], [], [], None, None, None)
    finally:
        session.close()
    assert change.fields == {field.name: wanted}
    with team.workspace.reading() as connection:
        state = ticket_states(connection, [str(created["ticket_id"])])[str(created["ticket_id"])]
    mutations = change.plan(state)
    assert mutations, field.name
    assert mutations[-1][0] == field.mutation


def test_set_refuses_a_key_or_value_the_table_does_not_have() -> None:
    from supportdesk.cli.errors import CLIError
    from supportdesk.cli.session import Session
    from supportdesk.cli.ticket_bulk import build_change

    session = Session()
    with pytest.raises(CLIError, match="a field among status, priority, type, group, assignee"):
        build_change(session, ["mood=happy"], [], [], None, None, None)
    with pytest.raises(CLIError, match="'urgentest' is not a priority: choose one of low, normal, high, urgent"):
        build_change(session, ["priority=urgentest"], [], [], None, None, None)
    with pytest.raises(CLIError, match="at most 35 characters"):
        build_change(session, [f"language={'x' * 36}"], [], [], None, None, None)
    assert build_change(session, ["status=hold"], [], [], None, None, None).fields == {"status": "on_hold"}


@pytest.mark.parametrize("field", WITH_MUTATION, ids=_ids(WITH_MUTATION))
def test_the_mutation_exists_with_the_tables_writers_and_audits_the_field(team: Team, field: TicketField) -> None:
    assert field.mutation is not None
    spec = catalog.get(field.mutation)
    if field.mutation != ticket_fields.SET_FIELD:
        assert spec.roles == field.writers, field.name
    created = new_ticket(team)
    value: Any = {
        "agent": team.agent.id,
        "group": team.billing,
        "tags": ["checked"],
        "text": "Fresh subject" if field.name == "subject" else "de",
    }.get(field.kind)
    if field.kind == "choice":
        current = ticket(team, created["ticket_id"])[field.store_column]
        value = next(c for c in field.settable_choices if c != current)
    name, args = field.write(str(created["ticket_id"]), value)
    team.as_(team.admin, name, args)
    audited = row(
        team,
        "SELECT count(*) FROM audit_event WHERE entity_id = ? AND field = ?",
        created["ticket_id"],
        field.audit,
    )
    assert audited[0] >= 1, field.name
    if field.kind not in ("tags",):
        stored = ticket(team, created["ticket_id"])[field.store_column]
        assert stored == (team.billing if field.kind == "group" else value)
    if field.writers == ticket_fields.FULL_AGENTS:
        other = new_ticket(team)
        with pytest.raises(PermissionDenied):
            team.as_(team.light, *field.write(str(other["ticket_id"]), value))


def test_set_field_refuses_fields_it_does_not_change_and_values_a_field_does_not_take(team: Team) -> None:
    created = new_ticket(team)
    with pytest.raises(ValidationFailed, match=r"not a field ticket\.set_field changes"):
        team.as_(
            team.agent, "ticket.set_field", {"ticket_id": created["ticket_id"], "field": "status", "value": "open"}
        )
    with pytest.raises(ValidationFailed, match=r"not a field ticket\.set_field changes"):
        team.as_(team.agent, "ticket.set_field", {"ticket_id": created["ticket_id"], "field": "id", "value": "x"})
    with pytest.raises(ValidationFailed):
        team.as_(team.agent, "ticket.set_field", {"ticket_id": created["ticket_id"], "field": "x" * 500, "value": "x"})


@pytest.mark.parametrize("field", [f for f in FIELDS if f.kind == "choice"], ids=lambda f: f.name)
def test_a_choice_field_cleans_its_values(field: TicketField) -> None:
    first = field.choices[-1]
    assert field.clean(first.upper().replace("_", "-")) == first
    with pytest.raises(FieldValueError, match=f"not a {field.name}: choose one of"):
        field.clean("[bold]nope")


def test_the_consoles_menus_come_from_the_table() -> None:
    from supportdesk.tui import choices

    menu = [c.value for c in choices.EDITABLE]
    for field in FIELDS:
        assert (field.name in menu) == (field.picker is not None), field.name
        if field.picker is not None:
            assert field.name in choices.TITLES
    bulk = [c.value for c in choices.BULK_ACTIONS]
    for field in FIELDS:
        assert (field.name in bulk) == (field.bulk is not None), field.name


@pytest.mark.parametrize("field", [f for f in FIELDS if f.picker is not None], ids=lambda f: f.name)
def test_each_picker_offers_values_or_a_prompt_and_writes_the_fields_mutation(team: Team, field: TicketField) -> None:
    from supportdesk.tui import choices
    from supportdesk.tui.db import ConsoleDB

    if choices.is_typed(field.name):
        assert field.kind in ("text", "tags")
    else:
        db = ConsoleDB(team.workspace)
        offered = choices.choices_for(field.name, db, me=team.agent.id)
        assert offered, field.name
        picked = offered[-1].value
        assert choices.field_mutation(field.name, "t1", picked, seen="x") == field.write(
            "t1", choices.value(picked), seen="x"
        )


def test_the_queue_columns_come_from_the_table() -> None:
    from supportdesk.tui.widgets.queue_columns import COLUMNS, DROP_ORDER

    keys = [c.key for c in COLUMNS]
    today = ["mark", "number", "subject", "requester", "sla", "status", "priority", "assignee", "group", "channel"]
    assert [k for k in keys if k in [*today, "updated"]] == [*today, "updated"]
    for field in FIELDS:
        assert (field.name in keys) == (field.queue is not None), field.name
    assert [k for k in DROP_ORDER if k in today or k == "updated"] == [
        "channel",
        "group",
        "assignee",
        "priority",
        "requester",
        "updated",
    ]


@pytest.mark.parametrize("field", [f for f in FIELDS if f.queue is not None], ids=lambda f: f.name)
def test_a_queue_row_carries_each_queue_columns_value(team: Team, field: TicketField) -> None:
    created = new_ticket(team, assignee_id=team.agent.id)
    with team.workspace.reading() as connection:
        page = reads.queue_page(connection, reads.plan_queue(f"id:{created['ticket_id']}"))
    (queue_row,) = page.rows
    stored = ticket(team, created["ticket_id"])[field.store_column]
    shown = queue_row.value(field.name)
    if field.kind in ("choice", "text", "number"):
        assert shown == stored
    else:
        assert shown is not None


@pytest.mark.parametrize("field", ticket_fields.plain_fields(), ids=lambda f: f.name)
def test_a_plain_field_is_in_the_rows_the_cli_lists_and_shows(team: Team, field: TicketField) -> None:
    from supportdesk.cli.tickets import LIST_FIELDS

    assert field.name in LIST_FIELDS
    created = new_ticket(team)
    team.as_(team.agent, *field.write(str(created["ticket_id"]), _plain_value(field)))
    with team.workspace.reading() as connection:
        page = reads.queue_page(connection, reads.plan_queue(f"id:{created['ticket_id']}"))
        detail = reads.ticket_detail(connection, str(created["ticket_id"]))
    assert page.rows[0].as_dict()[field.name] == _plain_value(field)
    assert detail is not None and detail.as_dict()[field.name] == _plain_value(field)


def _plain_value(field: TicketField) -> str:
    return field.choices[0] if field.kind == "choice" else "de"


def test_the_header_shows_the_tables_header_fields(team: Team) -> None:
    from datetime import UTC, datetime

    from supportdesk.tui.widgets.ticket_header import header_content

    created = new_ticket(team, tags=["vip"])
    with team.workspace.reading() as connection:
        detail = reads.ticket_detail(connection, str(created["ticket_id"]))
    assert detail is not None
    text = "\n".join(
        line.plain
        for line in header_content(
            detail, now=datetime(2026, 1, 1, tzinfo=UTC), keymap={}, viewers=[], message_count=1
        ).lines(400)
    )
    for field in ticket_fields.in_order("header"):
        assert f"{field.name} " in text, field.name
    assert "status new [S]" in text and "tags vip" in text


@pytest.mark.parametrize("field", [f for f in FIELDS if f.export and f.kind != "tags"], ids=lambda f: f.name)
def test_exports_and_imports_carry_the_field(team: Team, field: TicketField) -> None:
    from supportdesk.domain.mutations.imports import IMPORT_ARGS
    from supportdesk.store.exports import ticket_records

    created = new_ticket(team)
    with team.workspace.reading() as connection:
        (record,) = ticket_records(connection, [str(created["ticket_id"])])
    assert field.store_column in record
    importable = set(IMPORT_ARGS.model_fields)
    assert field.store_column in importable or field.name in importable, field.name


def test_a_field_is_refused_to_a_light_agent_by_set_field_too(team: Team) -> None:
    plain = ticket_fields.plain_fields()
    if not plain:
        pytest.skip("no field uses ticket.set_field")
    created = new_ticket(team)
    with pytest.raises(PermissionDenied):
        team.as_(team.light, *plain[0].write(str(created["ticket_id"]), _plain_value(plain[0])))


def test_the_write_path_refuses_what_a_field_does_not_take(team: Team) -> None:
    created = new_ticket(team)
    with pytest.raises(ValidationFailed):
        write.apply(
            team.workspace,
            "ticket.set_priority",
            {"ticket_id": created["ticket_id"], "priority": "[bold]urgent"},
            actor=team.agent,
        )
