"""How fast a hostile macro fails, and what an ordinary one costs: ``python bench/macro_render.py``.

Renders each template through ``supportdesk.domain.templates.render`` (the placeholder check, the
sandbox and its limits) ``--repeat`` times after one warm-up (which compiles it), and prints the
time to the error — or to the text, for the ordinary macro. The goal: every hostile template
fails in under 100 ms.
"""

from __future__ import annotations

import argparse

from _timing import measure, summary
from supportdesk.domain import templates
from supportdesk.domain.errors import TemplateError

CONTEXT = templates.ticket_context(
    {"id": "t1", "number": 1042, "subject": "Refund for my last invoice", "status": "open"},
    requester={"name": "Alice Adams"},
    requester_email="alice@example.com",
    requester_phone=None,
    organization="Acme",
    group="Billing",
    assignee=None,
    tags=["refund", "billing", "vip"],
    agent={"name": "Sam Agent", "email": "sam@acme.test"},
)

TEMPLATES = {
    "ordinary macro (placeholders, a loop, filters)": (
        "Hi {{ ticket.requester.first_name }},\n\nyour refund for #{{ ticket.number }} is on its way.\n"
        "{% for tag in ticket.tags %}- {{ tag|title }}\n{% endfor %}-- {{ agent.name }}"
    ),
    "three nested loops (1000 x 1000 x 1000)": (
        "{% for a in ticket.tags * 1000 %}{% for b in ticket.tags * 1000 %}{% for c in ticket.tags * 1000 %}"
        ".{% endfor %}{% endfor %}{% endfor %}"
    ),
    "huge output (a loop writing 100 characters 9,999 times)": "{% for i in 'x' * 9999 %}{{ 'y' * 100 }}{% endfor %}",
    "huge value ('x' * 10**9)": "{{ 'x' * 1000000000 }}",
    "huge width ('{:>999999999}'.format)": "{{ '{:>999999999}'.format('x') }}",
    "recursion (a recursive loop calling itself)": "{% for x in [[1]] recursive %}{{ loop([x]) }}{% endfor %}",
    "captured block growing in a loop": (
        "{% set s %}{% for i in 'x' * 9999 %}{{ ticket.subject * 3 }}{% endfor %}{% endset %}{{ s|length }}"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    for name, template in TEMPLATES.items():
        outcome: list[str] = []

        def render(template: str = template, outcome: list[str] = outcome) -> None:
            try:
                templates.render(template, CONTEXT)
                outcome[:] = ["rendered"]
            except TemplateError as error:
                outcome[:] = [str(error)]

        samples = measure(render, repeat=args.repeat, warmup=1)
        print(f"{name:58} {summary(samples)}   {outcome[0]}")


if __name__ == "__main__":
    main()
