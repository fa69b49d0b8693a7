"""Editing a rule or an automation in the console: its YAML in a text area, checked when saved.

The same YAML as ``supportdesk rules export`` / ``import`` (one rule, a mapping). ``ctrl+s``
saves through the one write path (``rule.create`` / ``rule.update``: every group, agent, query
and template checked); a YAML error or a refusal is a notification and the editor stays open
with the draft as typed. ``escape`` closes it; the rules screen keeps the draft until the agent
leaves it, so reopening the same rule brings the text back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, Static, TextArea

from supportdesk.tui.text import safe_line

if TYPE_CHECKING:
    from supportdesk.tui.console import Console

#: What a new rule starts as: an automation, the kind the console had no way to write.
NEW_RULE = """\
name: Close solved tickets
when: [scheduled]          # created, updated, triaged — or scheduled (an automation)
conditions:
  query: status:solved updated>4d
actions:
  - set_status: closed
"""
#: The largest draft the editor saves (a rule with long auto-reply templates fits easily).
MAX_CHARS = 100_000


def rule_yaml(rule: dict[str, Any]) -> str:
    """A rule as YAML to edit: the fields in the order people write them, texts as ``|`` blocks."""
    import yaml  # type: ignore[import-untyped]

    class Dumper(yaml.SafeDumper):  # type: ignore[misc]
        pass

    def text(dumper: Any, value: str) -> Any:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)

    Dumper.add_representer(str, text)
    document = {k: rule[k] for k in ("name", "description", "position", "active", "when", "conditions", "actions")
                if k in rule}  # fmt: skip
    return str(yaml.dump(document, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=100))


def parse_rule_yaml(text: str) -> dict[str, Any]:
    """The draft as a rule definition; a ``ValueError`` with one readable line otherwise."""
    import yaml

    if len(text) > MAX_CHARS:
        raise ValueError(f"the rule is longer than {MAX_CHARS:,} characters")
    try:
        # an alias (``*a``) may repeat a list inside itself level after level: a few lines that
        # expand to millions of values when the rule is checked — a rule never needs one
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=yaml.SafeLoader)):
            raise ValueError("YAML aliases (*name) are not allowed in a rule: write the values out")
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ValueError(f"not valid YAML{where}: {problem}") from None
    if not isinstance(document, dict):
        raise ValueError("a rule is a mapping: name, when, conditions, actions")
    return {k: v for k, v in document.items() if k != "id"}


class RuleEditor(ModalScreen[bool]):
    """The YAML of one rule (``rule_id`` None: a new one); dismissed with True once saved."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="rule_editor.save", priority=True),
        Binding("escape", "close", "Close", id="rule_editor.close", priority=True),
    ]
    DEFAULT_CSS = """
    RuleEditor { align: center middle; }
    RuleEditor #rule-editor-box { width: 90%; height: 90%; border: round $accent; background: $surface; }
    RuleEditor #rule-editor-text { height: 1fr; }
    RuleEditor .form-hint { color: $text-muted; }
    """

    def __init__(self, title: str, text: str, *, rule_id: str | None, keep: Any = None) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.rule_id = rule_id
        #: Called with the draft when the editor closes unsaved (the rules screen keeps it).
        self.keep = keep
        self.saving = False

    @property
    def console(self) -> Console:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="rule-editor-box"):
            yield Label(Content.styled(safe_line(self.title_text, cap=120), "bold"))
            yield TextArea(self.text, id="rule-editor-text", soft_wrap=False, show_line_numbers=True,
                           tab_behavior="indent")  # fmt: skip
            yield Static(Content("ctrl+s save (checked first) · escape close (the draft is kept)"), classes="form-hint")

    @property
    def draft(self) -> str:
        return self.query_one(TextArea).text

    def action_close(self) -> None:
        if self.keep is not None:
            self.keep(self.draft)
        self.dismiss(False)

    def action_save(self) -> None:
        if self.saving:
            return
        try:
            definition = parse_rule_yaml(self.draft)
        except ValueError as error:
            self.console.notify(str(error), title="Not saved", severity="error", markup=False, timeout=8)
            return
        mutation: tuple[str, dict[str, Any]]
        if self.rule_id is None:
            mutation = ("rule.create", {"definition": definition})
        else:
            mutation = ("rule.update", {"rule_id": self.rule_id, "definition": definition})
        self.saving = True

        def saved(_outcomes: list[Any]) -> None:
            self.saving = False
            if self.keep is not None:
                self.keep(None)
            self.console.notify(f"saved: {safe_line(str(definition.get('name', '')), cap=80)}", markup=False)
            self.dismiss(True)

        def refused(_problem: str, _outcomes: list[Any]) -> None:
            self.saving = False  # the console said why; the draft stays as typed

        self.console.write([mutation], done=saved, failed=refused)
