"""``automation.run``: one run of one time-based automation (:mod:`supportdesk.domain.automations`).

The team server's scheduler runs it for every active automation every few minutes, as the
system; an admin runs it on demand (``supportdesk rules run-automations``). On a synced
workspace it changes nothing locally: it travels to the server, which runs it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from supportdesk.domain.automations import RUN_LIMIT, is_automation, run
from supportdesk.domain.errors import ValidationFailed
from supportdesk.domain.registry import ADMINS, Args, mutation
from supportdesk.domain.tx import Tx


class RunAutomation(Args):
    rule_id: str = Field(min_length=1, max_length=36)
    limit: int = Field(default=RUN_LIMIT, ge=1, le=1000)


@mutation("automation.run", RunAutomation, roles=ADMINS)
def run_automation(tx: Tx, args: RunAutomation) -> dict[str, Any]:
    """Fire an automation on the tickets that have entered its condition since they last left it."""
    rule = tx.require("trigger_rule", args.rule_id, field="rule_id")
    if not is_automation(rule):
        raise ValidationFailed(
            f"rule {rule['name']} is not an automation (when: [scheduled]): it runs when tickets change",
            field="rule_id",
        )
    return run(tx, rule, limit=args.limit).as_dict()
