"""The macro panel and the knowledge-base panel beside a ticket.

Both are a search box over a short list with a preview underneath. They only say what the
agent wants (:class:`MacroPanel.Previewing`, :class:`MacroPanel.Applying`,
:class:`KBPanel.Searching`, :class:`KBPanel.Inserting`); the ticket screen reads and writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.fuzzy import Matcher
from textual.message import Message
from textual.widgets import Input, Static

from supportdesk.store.reads import Article, ArticleHit
from supportdesk.tui.actions import bindings
from supportdesk.tui.text import safe, safe_line
from supportdesk.tui.widgets.row_list import RowList

if TYPE_CHECKING:
    from supportdesk.domain.macros import MacroPlan

PANEL_CSS = """
{name} {{ height: 1fr; }}
{name} > .panel-title {{ padding: 0 1; text-style: bold; color: $text-accent; }}
{name} > Input {{ margin: 0 0; }}
{name} > RowList {{ height: auto; max-height: 12; }}
{name} > .panel-subtitle {{ padding: 0 1; color: $text-muted; }}
{name} > VerticalScroll {{ height: 1fr; border-top: solid $foreground 20%; padding: 0 1; }}
"""


def plan_content(plan: MacroPlan) -> Content:
    """The preview of a macro: each field change, the tags, then the comment as it will read."""
    lines: list[Content] = [Content.styled("Changes", "bold")]
    for name, before, after in plan.changes:
        was = safe_line(str(before), cap=60) if before not in (None, "") else "—"
        now = safe_line(str(after), cap=60) if after not in (None, "") else "—"
        if name in ("group", "assignee") and before and len(str(before)) == 36:
            was = "another"
        lines.append(Content(f"  {name}: {was} → {now}"))
    if plan.tags_added:
        lines.append(Content("  tags + " + ", ".join(plan.tags_added)))
    if plan.tags_removed:
        lines.append(Content("  tags − " + ", ".join(plan.tags_removed)))
    if len(lines) == 1:
        lines.append(Content.styled("  no field changes", "dim"))
    kind = "public reply" if plan.public else "internal note"
    lines.append(Content(""))
    lines.append(Content.styled(f"Comment ({kind})", "bold"))
    lines.append(Content(safe(plan.body)) if plan.body.strip() else Content.styled("  no comment", "dim"))
    return Content("\n").join(lines)


def plan_summary(plan: MacroPlan) -> str:
    parts = [f"{name} → {safe_line(str(after), cap=40) if after else '—'}" for name, _, after in plan.changes]
    parts += [f"+{tag}" for tag in plan.tags_added] + [f"−{tag}" for tag in plan.tags_removed]
    return ", ".join(parts) or "comment only"


class MacroPanel(Vertical):
    BINDINGS = bindings("macros")
    DEFAULT_CSS = PANEL_CSS.format(name="MacroPanel")

    class Previewing(Message):
        def __init__(self, macro: dict[str, Any]) -> None:
            super().__init__()
            self.macro = macro

    class Applying(Message):
        def __init__(self, macro: dict[str, Any]) -> None:
            super().__init__()
            self.macro = macro

    class Closed(Message):
        pass

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.macros: list[dict[str, Any]] = []
        self.shown: list[dict[str, Any]] = []
        #: The ids of the macros that fit the open ticket, best first (``None``: still ranking).
        self.suggested: list[str] | None = None

    def compose(self) -> ComposeResult:
        yield Static("Macros", classes="panel-title")
        yield Input(placeholder="search macros by name", id="macro-search")
        yield Static("", id="macro-subtitle", classes="panel-subtitle")
        yield RowList(empty="no macro matches", id="macro-list")
        with VerticalScroll():
            yield Static(id="macro-preview", markup=False)

    @property
    def row_list(self) -> RowList:
        return self.query_one("#macro-list", RowList)

    def set_macros(self, macros: list[dict[str, Any]], *, suggested: list[str] | None = None) -> None:
        """The macros by name, and which of them fit the ticket (``None``: being ranked)."""
        self.macros = macros
        self.suggested = suggested
        self._narrow(self.query_one("#macro-search", Input).value)

    def set_suggested(self, suggested: list[str]) -> None:
        """The ranking arrived (from a worker): with an empty search, the list is re-ordered."""
        self.suggested = suggested
        text = self.query_one("#macro-search", Input).value
        if text.strip():
            return
        self._narrow(text)

    def focus_search(self, *, clear: bool = False) -> None:
        search = self.query_one("#macro-search", Input)
        if clear:
            search.value = ""
        search.focus()

    def _narrow(self, text: str) -> None:
        text = text.strip()
        fits: set[str] = set()
        if text:
            matcher = Matcher(text)
            scored = [(matcher.match(m["name"]), m) for m in self.macros]
            self.shown = [m for score, m in sorted(scored, key=lambda pair: -pair[0]) if score > 0]
            subtitle = f"{len(self.shown)} macro{'' if len(self.shown) == 1 else 's'} match"
        else:
            by_id = {m["id"]: m for m in self.macros}
            first = [by_id[i] for i in dict.fromkeys(self.suggested or []) if i in by_id]
            fits = {m["id"] for m in first}
            self.shown = first + [m for m in self.macros if m["id"] not in fits]
            if self.suggested is None:
                subtitle = "finding the macros for this ticket…"
            elif fits:
                subtitle = "★ suggested for this ticket, then all by name"
            else:
                subtitle = "all by name (none stands out for this ticket)"
        self.query_one("#macro-subtitle", Static).update(subtitle)
        rows = []
        for macro in self.shown:
            row = Content(safe_line(macro["name"], cap=120))
            if fits:
                row = (Content.styled("★ ", "bold") if macro["id"] in fits else Content("  ")) + row
            if not macro["public"]:
                row += Content.styled("  (note)", "dim")
            rows.append(row)
        self.row_list.set_rows(rows, keep_cursor=False)
        self._preview_current()

    @property
    def current(self) -> dict[str, Any] | None:
        index = self.row_list.cursor
        return self.shown[index] if 0 <= index < len(self.shown) else None

    def _preview_current(self) -> None:
        macro = self.current
        preview = self.query_one("#macro-preview", Static)
        if macro is None:
            preview.update("")
            return
        preview.update(Content.styled("working out the preview…", "dim"))
        self.post_message(self.Previewing(macro))

    def show_preview(self, macro_id: str, content: Content) -> None:
        if self.current is not None and self.current["id"] == macro_id:
            self.query_one("#macro-preview", Static).update(content)

    @on(Input.Changed, "#macro-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._narrow(event.value)

    @on(Input.Submitted, "#macro-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    @on(RowList.Highlighted, "#macro-list")
    def _highlighted(self, event: RowList.Highlighted) -> None:
        event.stop()
        self._preview_current()

    @on(RowList.Selected, "#macro-list")
    def _selected(self, event: RowList.Selected) -> None:
        event.stop()
        self.action_apply()

    def action_cursor_down(self) -> None:
        self.row_list.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.row_list.action_cursor_up()

    def action_apply(self) -> None:
        if self.current is not None:
            self.post_message(self.Applying(self.current))

    def action_close(self) -> None:
        self.post_message(self.Closed())


class KBPanel(Vertical):
    BINDINGS = bindings("kb")
    DEFAULT_CSS = PANEL_CSS.format(name="KBPanel")

    class Searching(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Previewing(Message):
        def __init__(self, hit: ArticleHit) -> None:
            super().__init__()
            self.hit = hit

    class Inserting(Message):
        def __init__(self, hit: ArticleHit, snippet: bool) -> None:
            super().__init__()
            self.hit = hit
            self.snippet = snippet

    class Closed(Message):
        pass

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.hits: list[ArticleHit] = []

    def compose(self) -> ComposeResult:
        yield Static("Knowledge base", classes="panel-title")
        yield Input(placeholder="search articles (full text)", id="kb-search")
        yield Static("Suggested for this ticket", id="kb-subtitle", classes="panel-subtitle")
        yield RowList(empty="no article matches", id="kb-list")
        with VerticalScroll():
            yield Static(id="kb-preview", markup=False)

    @property
    def row_list(self) -> RowList:
        return self.query_one("#kb-list", RowList)

    @property
    def search_text(self) -> str:
        return self.query_one("#kb-search", Input).value

    def focus_search(self, *, clear: bool = False) -> None:
        search = self.query_one("#kb-search", Input)
        if clear:
            search.value = ""
        search.focus()

    def set_hits(self, hits: list[ArticleHit], *, suggested: bool) -> None:
        self.hits = hits
        self.query_one("#kb-subtitle", Static).update(
            "Suggested for this ticket" if suggested else f"{len(hits)} articles match"
        )
        self.row_list.set_rows([Content(safe_line(h.title, cap=160)) for h in hits], keep_cursor=False)
        self._preview_current()

    @property
    def current(self) -> ArticleHit | None:
        index = self.row_list.cursor
        return self.hits[index] if 0 <= index < len(self.hits) else None

    def _preview_current(self) -> None:
        hit = self.current
        if hit is None:
            self.query_one("#kb-preview", Static).update("")
            return
        self.post_message(self.Previewing(hit))

    def show_article(self, article: Article, link: str) -> None:
        if self.current is None or self.current.id != article.id:
            return
        body = Content.styled(safe_line(article.title, cap=200), "bold") + Content("\n")
        body += Content.styled(link, "underline") + Content("\n\n") + Content(safe(article.body[:20_000]))
        self.query_one("#kb-preview", Static).update(body)

    @on(Input.Changed, "#kb-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Searching(event.value))

    @on(Input.Submitted, "#kb-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_insert_link()

    @on(RowList.Highlighted, "#kb-list")
    def _highlighted(self, event: RowList.Highlighted) -> None:
        event.stop()
        self._preview_current()

    @on(RowList.Selected, "#kb-list")
    def _selected(self, event: RowList.Selected) -> None:
        event.stop()
        self.action_insert_link()

    def action_cursor_down(self) -> None:
        self.row_list.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.row_list.action_cursor_up()

    def action_insert_link(self) -> None:
        if self.current is not None:
            self.post_message(self.Inserting(self.current, snippet=False))

    def action_insert_snippet(self) -> None:
        if self.current is not None:
            self.post_message(self.Inserting(self.current, snippet=True))

    def action_close(self) -> None:
        self.post_message(self.Closed())
