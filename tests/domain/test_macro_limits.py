"""A hostile macro fails with a clear error, by counting, and never holds the write lock.

Every limit here is checked by counting steps, characters and sizes (exact boundaries), never
by timing; ``bench/macro_render.py`` measures how fast the hostile templates fail.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from supportdesk.domain import catalog, sandbox, templates, write
from supportdesk.domain.context import MutationContext
from supportdesk.domain.errors import TemplateError, ValidationFailed
from supportdesk.domain.sandbox import MAX_OUTPUT, MAX_STEPS, LimitExceeded
from supportdesk.store import reads
from tests.conftest import Team
from tests.domain.test_macros import CONTEXT, make_macro
from tests.domain.test_mutations import new_ticket

STEPS = "steps: a loop too long, or a macro calling itself"


def render(template: str) -> str:
    return templates.render(template, CONTEXT)


def test_loop_steps_are_counted_to_the_limit() -> None:
    assert render(f"{{% for c in 'x' * {MAX_STEPS} %}}{{% endfor %}}") == ""
    with pytest.raises(LimitExceeded, match=STEPS):
        render(f"{{% for c in 'x' * {MAX_STEPS + 1} %}}{{% endfor %}}")


def test_three_nested_loops_stop_at_the_step_limit() -> None:
    nested = (
        "{% for a in ticket.tags * 1000 %}{% for b in ticket.tags * 1000 %}"
        "{% for c in ticket.tags * 1000 %}.{% endfor %}{% endfor %}{% endfor %}"
    )
    with pytest.raises(LimitExceeded, match=STEPS):
        render(nested)


def test_a_loop_that_calls_itself_stops() -> None:
    with pytest.raises(LimitExceeded, match="calls itself more than 50 levels deep"):
        render("{% for x in [[1]] recursive %}{{ loop([x]) }}{% endfor %}")


def test_characters_written_are_counted_to_the_limit() -> None:
    half = MAX_OUTPUT // 2
    assert len(render(f"{{% for c in 'ab' %}}{{{{ 'y' * {half} }}}}{{% endfor %}}")) == MAX_OUTPUT
    with pytest.raises(LimitExceeded, match=f"writes more than {MAX_OUTPUT:,} characters"):
        render(f"{{% for c in 'ab' %}}{{{{ 'y' * {half} }}}}{{% endfor %}}z")


def test_text_captured_in_a_block_counts_too() -> None:
    with pytest.raises(LimitExceeded, match="writes more than"):
        render("{% set s %}{% for i in 'x' * 5000 %}{{ 'y' * 99 }}{% endfor %}{% endset %}{{ s|length }}")


def test_plain_text_repeated_by_a_loop_counts() -> None:
    with pytest.raises(LimitExceeded, match="writes more than"):
        render("{% for i in 'x' * 9999 %}" + "y" * 200 + "{% endfor %}")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ 'x' * 1000000000 }}", "repeated value"),
        (f"{{{{ 'x' * {MAX_OUTPUT + 1} }}}}", "repeated value"),
        ("{{ ticket.tags * 1000000000 }}", "repeated value"),
        ("{{ ('x' * 90000) ~ ('x' * 90000) }}", "larger than"),
        ("{{ ('x' * 90000) + ('x' * 90000) }}", "a sum"),
        ("{{ 'x'|center(1000000000) }}", "width or count"),
        ("{{ 'x'.center(1000000000) }}", "width or count"),
        ("{{ 'x'.ljust(99999) }}", "width or count"),
        ("{{ '{:>999999999}'.format('x') }}", "format width"),
        ("{{ '{0:>{1}}'.format('x', 999999999) }}", "format width"),
        ("{{ '%999999999s' % 'x' }}", "format width"),
        ("{{ '%*s' % (999999999, 'x') }}", "format width"),
        ("{{ '%.9999f' % 1 }}", "format width"),
        ("{{ '%9999s'|format('x') }}", "format width"),
        ("{{ ('x' * 9000)|list|join('y' * 90000) }}", "joined text"),
        ("{{ ('y' * 90000).join('x' * 9000) }}", "joined text"),
        ("{{ ('x' * 50000)|replace('', 'yy') }}", "replaced text"),
        ("{{ ('x' * 50000).replace('', 'yy') }}", "replaced text"),
        ("{{ ('x\n' * 40000)|indent(900) }}", "indented text"),
        ("{{ ('x ' * 40000)|wordwrap(1, wrapstring='y' * 500) }}", "wrapped text"),
        ("{{ [1]|batch(1000000000) }}", "width or count"),
        ("{{ [1]|slice(1000000000) }}", "width or count"),
        ("{{ 7 ** 100000 }}", "power"),
    ],
)
def test_values_too_large_are_refused_before_they_are_built(template: str, message: str) -> None:
    with pytest.raises(LimitExceeded, match=message):
        render(template)


def test_nested_lists_are_sized_through_their_items() -> None:
    with pytest.raises(LimitExceeded, match="larger than"):
        render("{{ [[ticket.subject * 9000] * 10, [ticket.subject * 9000] * 10] }}")


def test_lists_and_dicts_cannot_be_changed() -> None:
    with pytest.raises(TemplateError, match="unsafe"):
        render("{% set tags = ticket.tags %}{% for i in 'x' * 40 %}{{ tags.extend(tags) }}{% endfor %}")


def test_a_template_error_of_its_own_is_one_line() -> None:
    with pytest.raises(TemplateError, match="ZeroDivisionError"):
        render("{{ 1 / 0 }}")


def test_the_time_limit_is_a_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "MAX_SECONDS", -1.0)
    with pytest.raises(LimitExceeded, match="longer than"):
        render("{% for t in ticket.tags %}{{ t }}{% endfor %}")


def test_ordinary_macros_still_render() -> None:
    text = render(
        "Hi {{ ticket.requester.first_name }},\n{% for t in ticket.tags %}- {{ t|title }}\n{% endfor %}"
        "{{ '%05d'|format(ticket.number|int) }} {{ [ticket.subject, agent.name]|join(' / ') }} "
        "{{ (ticket.subject ~ '!')|center(20)|trim }}"
    )
    assert text == "Hi Alice,\n- Refund\n01042 Refund / Sam Agent Refund!"


def test_a_hostile_macro_is_refused_when_applied(team: Team) -> None:
    hostile = "{% for a in ticket.tags * 1000 %}{% for b in ticket.tags * 1000 %}{{ a }}{% endfor %}{% endfor %}"
    macro_id = make_macro(team, name="Hostile", actions=[], body=hostile)
    created = new_ticket(team, tags=["x"])
    with pytest.raises(LimitExceeded, match=STEPS):
        team.as_(team.agent, "macro.apply", {"ticket_id": created["ticket_id"], "macro_id": macro_id})
    with team.workspace.reading() as connection:
        detail = reads.ticket_detail(connection, str(created["ticket_id"]))
        outbox = connection.execute("SELECT count(*) FROM outbox WHERE name = 'macro.apply'").fetchone()[0]
    assert detail is not None and len(detail.messages) == 1
    assert outbox == 0  # refused before the write began: nothing to push


def test_the_mutator_never_renders(team: Team) -> None:
    """Pushed without its comment (as a hostile client would), macro.apply is refused: the server
    never renders a template inside its write transaction."""
    macro_id = make_macro(team)
    created = new_ticket(team)
    spec = catalog.get("macro.apply")
    parsed = write.validate_args(spec, {"ticket_id": created["ticket_id"], "macro_id": macro_id})
    context = MutationContext(actor=team.agent, mode="server", authority=True, mutation_ref="test")
    with (
        team.workspace.engine.connect() as connection,
        connection.begin(),
        pytest.raises(ValidationFailed, match="rendered before the write"),
    ):
        write.run_one(connection, spec, parsed, context)


def test_no_write_lock_is_held_while_a_macro_renders(team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another agent's write commits while a macro is in the middle of rendering."""
    rendering, committed = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}

    def wait_here(value: str) -> str:
        rendering.set()
        seen["other writer committed meanwhile"] = committed.wait(20)
        return value

    monkeypatch.setitem(sandbox.environment().filters, "wait_here", wait_here)
    macro_id = make_macro(team, name="Slow", actions=[], body="About {{ ticket.subject|wait_here }}")
    mine, theirs = new_ticket(team), new_ticket(team, subject="Another one")

    def apply_macro() -> None:
        seen["outcome"] = team.as_(team.agent, "macro.apply", {"ticket_id": mine["ticket_id"], "macro_id": macro_id})

    worker = threading.Thread(target=apply_macro)
    worker.start()
    try:
        assert rendering.wait(20), "the macro never started rendering"
        team.as_(team.admin, "ticket.note", {"ticket_id": theirs["ticket_id"], "body": "written meanwhile"})
        committed.set()
    finally:
        committed.set()
        worker.join(30)
    assert seen["other writer committed meanwhile"] is True
    assert seen["outcome"].ok
    with team.workspace.reading() as connection:
        detail = reads.ticket_detail(connection, str(mine["ticket_id"]))
    assert detail is not None
    assert detail.messages[-1].body == "About Refund for my last invoice"
