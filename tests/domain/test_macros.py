"""Macro templates: sandboxed Jinja2, strict placeholders, one mutation for all actions."""

from __future__ import annotations

import pytest

from supportdesk.domain import templates
from supportdesk.domain.errors import InvalidTransition, PermissionDenied, TemplateError
from supportdesk.store import reads
from tests.conftest import Team
from tests.domain.test_mutations import new_ticket, ticket

CONTEXT = templates.ticket_context(
    {"id": "t1", "number": 1042, "subject": "Refund", "status": "open"},
    requester={"name": "Alice Adams"},
    requester_email="alice@example.com",
    requester_phone=None,
    organization="Acme",
    group="Billing",
    assignee=None,
    tags=["refund"],
    agent={"name": "Sam Agent", "email": "sam@acme.test"},
)


def test_placeholders_render() -> None:
    text = templates.render(
        "Hi {{ ticket.requester.first_name }}, about #{{ ticket.number }} — {{ agent.name }}", CONTEXT
    )
    assert text == "Hi Alice, about #1042 — Sam Agent"


def test_unknown_placeholder_is_an_error_that_names_it() -> None:
    with pytest.raises(TemplateError, match=r"unknown placeholder \{\{ ticket.requester.frist_name \}\}"):
        templates.render("Hi {{ ticket.requester.frist_name }}", CONTEXT)
    with pytest.raises(TemplateError, match="unknown placeholder"):
        templates.render("{{ secrets }}", CONTEXT)


def test_loops_and_filters_still_work() -> None:
    assert templates.render("{% for t in ticket.tags %}[{{ t|upper }}]{% endfor %}", CONTEXT) == "[REFUND]"


def test_the_sandbox_refuses_python_internals() -> None:
    with pytest.raises(TemplateError):
        templates.render("{{ ''.__class__.__mro__ }}", CONTEXT)


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(TemplateError, match="line 2"):
        templates.render("ok\n{{ ticket.number ", CONTEXT)


def test_rendered_text_is_sanitized() -> None:
    context = {**CONTEXT, "ticket": {**CONTEXT["ticket"], "subject": "\x1b[2Jboom"}}
    assert templates.render("{{ ticket.subject }}", context) == "⟨U+001B⟩[2Jboom"


def make_macro(team: Team, **extra: object) -> str:
    args: dict[str, object] = {
        "name": "Refund issued",
        "actions": [
            {"field": "status", "value": "solved"},
            {"field": "priority", "value": "low"},
            {"field": "add_tags", "value": ["refund_issued"]},
        ],
        "body": "Hi {{ ticket.requester.first_name }}, your refund for #{{ ticket.number }} is on its way.",
    }
    args.update(extra)
    return str(team.as_(team.admin, "macro.create", args).result["macro_id"])


def test_macro_create_checks_its_template_first(team: Team) -> None:
    with pytest.raises(TemplateError, match=r"ticket\.nmber"):
        team.as_(team.admin, "macro.create", {"name": "Broken", "body": "{{ ticket.nmber }}"})


def test_macro_apply_is_one_mutation_for_every_action(team: Team) -> None:
    macro_id = make_macro(team)
    created = new_ticket(team)
    before = _outbox_count(team)
    result = team.as_(team.agent, "macro.apply", {"ticket_id": created["ticket_id"], "macro_id": macro_id}).result
    assert _outbox_count(team) == before + 1
    after = ticket(team, created["ticket_id"])
    assert (after["status"], after["priority"]) == ("solved", "low")
    with team.workspace.reading() as connection:
        detail = reads.ticket_detail(connection, str(created["ticket_id"]))
    assert detail is not None
    assert "refund_issued" in detail.tags
    reply = next(m for m in detail.messages if m.id == result["message_id"])
    assert reply.body == "Hi Alice, your refund for #1 is on its way."
    assert reply.public


def test_macro_apply_uses_the_edited_body(team: Team) -> None:
    macro_id = make_macro(team)
    created = new_ticket(team)
    result = team.as_(
        team.agent,
        "macro.apply",
        {"ticket_id": created["ticket_id"], "macro_id": macro_id, "body": "Edited by hand"},
    ).result
    with team.workspace.reading() as connection:
        detail = reads.ticket_detail(connection, str(created["ticket_id"]))
    assert detail is not None
    assert next(m for m in detail.messages if m.id == result["message_id"]).body == "Edited by hand"


def test_macro_apply_obeys_the_rules(team: Team) -> None:
    macro_id = make_macro(team)
    created = new_ticket(team)
    team.as_(team.agent, "ticket.set_status", {"ticket_id": created["ticket_id"], "status": "closed"})
    with pytest.raises(InvalidTransition):
        team.as_(team.agent, "macro.apply", {"ticket_id": created["ticket_id"], "macro_id": macro_id})
    other = new_ticket(team)
    with pytest.raises(PermissionDenied, match="light agent"):
        team.as_(team.light, "macro.apply", {"ticket_id": other["ticket_id"], "macro_id": macro_id})
    note_only = make_macro(team, name="Note", actions=[], body="Checked logs", public=False)
    team.as_(team.light, "macro.apply", {"ticket_id": other["ticket_id"], "macro_id": note_only})


def _outbox_count(team: Team) -> int:
    with team.workspace.reading() as connection:
        return int(connection.execute("SELECT count(*) FROM outbox").fetchone()[0])
