"""The routing rules and automations, in the order they run, and the whole of the one under the cursor.

An admin edits them here too: ``x`` turns the rule on or off, ``e`` edits its YAML and ``N``
writes a new one (:mod:`supportdesk.tui.screens.rule_editor`: checked when saved, the draft kept
on a refusal), ``R`` runs the automations now. Each change is a mutation (``rule.update``,
``rule.create``, ``automation.run``), as ``supportdesk rules import`` makes. Names and values
are admins' text, drawn as ``Content``, never as markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from supportdesk.store.routing import summary
from supportdesk.tui.actions import bindings
from supportdesk.tui.messages import StoreChanged
from supportdesk.tui.text import safe, safe_line
from supportdesk.tui.widgets.key_bar import KeyBar
from supportdesk.tui.widgets.row_list import RowList

if TYPE_CHECKING:
    from supportdesk.tui.console import Console


def rule_row(rule: dict[str, Any]) -> Content:
    when = ", ".join(rule["when"])
    row = Content(f"{rule['position']:>4}  ") + Content(safe_line(rule["name"], cap=80))
    if "scheduled" in rule["when"]:
        row += Content.styled("  automation · by the clock", "dim")
    else:
        row += Content.styled(f"  on {when}", "dim")
    if not rule["active"]:
        row += Content.styled("  (inactive)", "italic dim")
    return row


def _value(value: Any) -> str:
    """A condition's or action's value in full: lists joined, text on one line."""
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value)
    if isinstance(value, dict):
        return summary(value)
    return safe_line(str(value), cap=200)


def rule_detail(rule: dict[str, Any]) -> Content:
    """The rule as the agent needs to read it: when, every condition, every action."""
    lines = [Content.styled(safe_line(rule["name"], cap=200), "bold")]
    if rule.get("description"):
        lines.append(Content(safe(rule["description"])))
    state = "active" if rule["active"] else "inactive"
    lines.append(Content.styled(f"position {rule['position']} · {state} · on {', '.join(rule['when'])}", "dim"))
    lines.append(Content(""))
    lines.append(Content.styled("When", "bold"))
    conditions = rule["conditions"]
    if not conditions:
        lines.append(Content("  always"))
    for key, value in conditions.items():
        if key in ("all", "any") and isinstance(value, dict):
            lines.append(Content.styled(f"  {'all of' if key == 'all' else 'any of'}", "italic"))
            lines.extend(Content(f"    {name}: {_value(item)}") for name, item in value.items())
        else:
            lines.append(Content(f"  {key}: {_value(value)}"))
    lines.append(Content(""))
    lines.append(Content.styled("Then", "bold"))
    for action in rule["actions"]:
        for name, value in action.items() if isinstance(action, dict) else [(str(action), "")]:
            if isinstance(value, str) and "\n" in value:
                lines.append(Content(f"  {name}:"))
                lines.extend(Content(f"    {line}") for line in safe(value).split("\n"))
            else:
                lines.append(Content(f"  {name}: {_value(value)}" if value != "" else f"  {name}"))
    return Content("\n").join(lines)


class RulesScreen(Screen[None]):
    BINDINGS = bindings("rules")
    PALETTE_SCOPES = ("rules",)
    AUTO_FOCUS = "#rules-list"
    DEFAULT_CSS = """
    RulesScreen #rules-title { height: auto; padding: 0 1; background: $boost; }
    RulesScreen #rules-body { height: 1fr; }
    RulesScreen #rules-list { width: 1fr; height: 1fr; max-height: 100%; }
    RulesScreen #rule-box { width: 1fr; border-left: vkey $foreground 20%; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rules: list[dict[str, Any]] = []
        #: Unsaved editor drafts by rule id ("" for a new rule), kept while this screen lives.
        self.drafts: dict[str, str] = {}

    @property
    def console(self) -> Console:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="rules-title")
        with Horizontal(id="rules-body"):
            yield RowList(empty="no routing rules", id="rules-list")
            with VerticalScroll(id="rule-box"):
                yield Static(id="rule-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        """A handful of rows: read on the spot."""
        self.rules = self.console.db.rules()
        count = len(self.rules)
        self.query_one("#rules-title", Static).update(
            Content.styled(f"Routing rules and automations · {count}", "bold")
            + Content.styled("  run in this order · x on/off · e edit · N new · R run automations now", "dim")
        )
        self.query_one(RowList).set_rows([rule_row(rule) for rule in self.rules])
        self._show(self.query_one(RowList).cursor)

    def _show(self, index: int) -> None:
        detail = self.query_one("#rule-detail", Static)
        if 0 <= index < len(self.rules):
            detail.update(rule_detail(self.rules[index]))
        else:
            detail.update(Content.styled("N writes a rule; supportdesk rules import FILE.yaml adds many", "dim"))

    @on(RowList.Highlighted)
    def _highlighted(self, event: RowList.Highlighted) -> None:
        self._show(event.index)

    def on_store_changed(self, message: StoreChanged) -> None:
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    def _current(self) -> dict[str, Any] | None:
        index = self.query_one(RowList).cursor
        if 0 <= index < len(self.rules):
            return self.rules[index]
        self.console.notify("no rule under the cursor", severity="warning", markup=False)
        return None

    def action_toggle_active(self) -> None:
        """``x``: on or off — the rule's definition saved again with ``active`` flipped."""
        rule = self._current()
        if rule is None:
            return
        definition = {k: v for k, v in rule.items() if k != "id"}
        definition["active"] = not rule["active"]
        state = "on" if definition["active"] else "off"
        self.console.write(
            [("rule.update", {"rule_id": rule["id"], "definition": definition})],
            done=lambda _: self.console.notify(f"{safe_line(rule['name'], cap=80)} is {state}", markup=False),
        )

    def action_edit_rule(self) -> None:
        from supportdesk.tui.screens.rule_editor import RuleEditor, rule_yaml

        rule = self._current()
        if rule is None:
            return
        text = self.drafts.get(rule["id"]) or rule_yaml(rule)
        self.app.push_screen(
            RuleEditor(f"Edit {rule['name']}", text, rule_id=rule["id"], keep=lambda d: self._keep(rule["id"], d))
        )

    def action_new_rule(self) -> None:
        from supportdesk.tui.screens.rule_editor import NEW_RULE, RuleEditor

        text = self.drafts.get("") or NEW_RULE
        self.app.push_screen(RuleEditor("New rule or automation", text, rule_id=None, keep=lambda d: self._keep("", d)))

    def _keep(self, key: str, draft: str | None) -> None:
        if draft is None:
            self.drafts.pop(key, None)
        else:
            self.drafts[key] = draft

    def action_run_automations(self) -> None:
        """``R``: one run of every active automation now (the server runs them by itself too)."""
        automations = [r for r in self.rules if r["active"] and "scheduled" in r["when"]]
        if not automations:
            self.console.notify("no active automations (rules with when: [scheduled])", markup=False)
            return

        def ran(outcomes: list[Any]) -> None:
            results = [o.result for o in outcomes if getattr(o, "result", None)]
            if any(r.get("deferred") for r in results):
                self.console.notify("sent to the team server, which runs them", markup=False)
                return
            fired = sum(len(r.get("fired", [])) for r in results)
            failed = sum(len(r.get("failed", [])) for r in results)
            text = f"automations fired on {fired} ticket(s)" + (f", failed on {failed}" if failed else "")
            self.console.notify(text, severity="warning" if failed else "information", markup=False)

        self.console.write([("automation.run", {"rule_id": r["id"]}) for r in automations], done=ran)
