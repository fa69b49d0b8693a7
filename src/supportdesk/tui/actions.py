"""Every action of the console, once, with an id: the source of bindings, help and the palette.

A binding's id (``queue.solve``) is what the ``[keys]`` table of the config file remaps; the
footer, the help screen and the command palette all read this table, so a remapped key shows
everywhere at once. ``scope`` names the screen or widget whose ``BINDINGS`` the action joins.

:data:`CONTEXTS` says which scopes answer a key together (the focused widget, its parents, the
screen, the app), and :data:`SHARED` which keys two actions share on purpose; with them
:func:`supportdesk.tui.keymap.clashes` finds two actions answering one key — in this table, in a
user's ``[keys]`` or ``[macro_keys]`` — and ``tests/tui/test_keymap.py`` checks the console's
live binding chains against both declarations.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class ConsoleAction:
    id: str
    keys: str
    action: str
    description: str
    help: str
    scope: str
    show: bool = True
    priority: bool = False
    palette: bool = True

    @property
    def binding(self) -> Binding:
        return Binding(
            self.keys,
            self.action,
            self.description,
            show=self.show,
            priority=self.priority,
            tooltip=self.help,
            id=self.id,
        )


SCOPES: dict[str, str] = {
    "app": "Everywhere",
    "queue": "Queue",
    "queue-list": "Queue rows",
    "views": "Saved views",
    "filter": "Filter bar",
    "ticket": "Ticket",
    "timeline": "Timeline",
    "composer": "Composer",
    "macros": "Macro panel",
    "kb": "Knowledge base panel",
    "similar": "Similar tickets panel",
    "customer": "Customer panel",
    "dashboard": "Dashboard",
    "trends": "Trends",
    "rules": "Routing rules",
    "list": "Lists and pickers",
}

_A = ConsoleAction

ACTIONS: tuple[ConsoleAction, ...] = (
    # everywhere
    _A("app.help", "question_mark", "help", "Help", "Every key, including yours", "app"),
    _A("app.quit", "ctrl+q", "quit", "Quit", "Leave the console (drafts are kept)", "app", show=False),
    _A("app.palette", "ctrl+p", "command_palette", "Commands", "Search every action", "app", show=False, palette=False),
    _A("app.dashboard", "f2", "dashboard", "Dashboard", "Charts and metrics: volume, backlog, replies, SLA", "app"),
    _A("app.rules", "f3", "rules", "Rules", "The routing rules, in the order they run", "app", show=False),
    # queue screen
    _A("queue.open", "enter", "open_ticket", "Open", "Open the ticket under the cursor", "queue"),
    _A("queue.tag_row", "space", "tag_row", "Tag", "Tag or untag the row (for ;)", "queue"),
    _A("queue.bulk", "semicolon", "bulk", "Apply to tagged", "Apply one action to every tagged row", "queue"),
    _A("queue.assign_me", "a", "assign_me", "Take", "Assign the ticket to me", "queue"),
    _A("queue.solve", "s", "solve", "Solve", "Solve the ticket", "queue"),
    _A("queue.reply", "r", "reply", "Reply", "Open the ticket with a public reply", "queue"),
    _A("queue.note", "n", "note", "Note", "Open the ticket with an internal note", "queue"),
    _A("queue.macro", "m", "macros", "Macro", "Open the ticket with the macro panel", "queue"),
    _A("queue.kb", "K", "knowledge_base", "KB", "Open the ticket with the knowledge base", "queue", show=False),
    _A("queue.filter", "slash", "filter", "Filter", "Filter with the query language", "queue"),
    _A("queue.sort", "o", "sort", "Sort", "Sort by a column", "queue", show=False),
    _A("queue.reverse", "O", "reverse_sort", "Reverse", "Reverse the sort", "queue", show=False),
    _A("queue.save_view", "w", "save_view", "Save view", "Save the current filter as a view", "queue", show=False),
    _A("queue.rename_view", "R", "rename_view", "Rename view", "Rename the selected view", "queue", show=False),
    _A("queue.delete_view", "D", "delete_view", "Delete view", "Delete the selected view", "queue", show=False),
    _A("queue.views", "v", "focus_views", "Views", "Move to the saved views", "queue", show=False),
    _A("queue.sidebar", "b", "toggle_sidebar", "Sidebar", "Hide or show the saved views (room at 80 columns)", "queue"),
    _A("queue.call", "c", "log_call", "Call", "Log a phone call (opens a ticket for the caller)", "queue", show=False),
    _A("queue.merge", "M", "merge", "Merge into", "Merge the ticket into another one", "queue", show=False),
    _A("queue.link", "L", "link", "Link problem", "Link the ticket to the problem behind it", "queue", show=False),
    _A("queue.snooze", "Z", "snooze", "Snooze", "Out of the worklists until a time, or wake it", "queue", show=False),
    _A(
        "queue.log_time",
        "W",
        "log_time",
        "Log time",
        "Log time spent on the ticket (15m, 1h30m …)",
        "queue",
        show=False,
    ),
    _A(
        "queue.triage_columns",
        "I",
        "toggle_triage_columns",
        "Triage cols",
        "Show or hide the language, sentiment and intent columns",
        "queue",
        show=False,
    ),
    _A("queue.clear_tags", "ctrl+u", "clear_tags", "Untag all", "Clear every tag mark", "queue", show=False),
    _A("queue.quit", "q", "app.quit", "Quit", "Leave the console (drafts are kept)", "queue", show=False),
    # the rows themselves
    _A("queue.down", "j,down", "cursor_down", "Down", "Next row", "queue-list", show=False, palette=False),
    _A("queue.up", "k,up", "cursor_up", "Up", "Previous row", "queue-list", show=False, palette=False),
    _A("queue.page_down", "pagedown", "page_down", "Page down", "Next page", "queue-list", show=False, palette=False),
    _A("queue.page_up", "pageup", "page_up", "Page up", "Previous page", "queue-list", show=False, palette=False),
    _A("queue.first", "g,home", "first", "First", "First row", "queue-list", show=False, palette=False),
    _A("queue.last", "G,end", "last", "Last", "Last row", "queue-list", show=False, palette=False),
    # views sidebar
    _A("views.open", "enter", "select", "Show", "Show the view's tickets", "views", palette=False),
    # filter bar
    _A("filter.close", "escape", "close_filter", "Close", "Back to the queue (the filter stays)", "filter"),
    _A("filter.clear", "ctrl+l", "clear_filter", "Clear", "Clear the filter", "filter"),
    # ticket screen
    _A("ticket.back", "escape,q", "back", "Back", "Back to the queue", "ticket"),
    _A("ticket.reply", "r", "reply", "Reply", "Write a public reply", "ticket"),
    _A("ticket.note", "n", "note", "Note", "Write an internal note", "ticket"),
    _A("ticket.macro", "m", "macros", "Macros", "Search and apply a macro", "ticket"),
    _A("ticket.kb", "k,K", "knowledge_base", "KB", "Search the knowledge base", "ticket"),
    _A(
        "ticket.similar", "f", "similar", "Similar", "Tickets like this one, solved first with their solution", "ticket"
    ),
    _A(
        "ticket.summary",
        "u",
        "fold_summary",
        "Summary",
        "Fold or unfold the summary (tickets of four or more messages)",
        "ticket",
        show=False,
    ),
    _A("ticket.customer", "i", "customer", "Customer", "The customer panel", "ticket", show=False),
    _A("ticket.solve", "s", "solve", "Solve", "Solve the ticket", "ticket"),
    _A("ticket.assign_me", "a", "assign_me", "Take", "Assign the ticket to me", "ticket", show=False),
    _A("ticket.status", "S", "edit('status')", "Status", "Change the status", "ticket", show=False),
    _A("ticket.priority", "p", "edit('priority')", "Priority", "Change the priority", "ticket", show=False),
    _A("ticket.type", "y", "edit('type')", "Type", "Change the type", "ticket", show=False),
    _A("ticket.group", "ctrl+g", "edit('group')", "Group", "Move to another group", "ticket", show=False),
    _A("ticket.assignee", "A", "edit('assignee')", "Assignee", "Assign to an agent", "ticket", show=False),
    _A("ticket.tags", "t", "edit('tags')", "Tag", "Add tags", "ticket", show=False),
    _A("ticket.untag", "T", "edit('untag')", "Untag", "Remove tags", "ticket", show=False),
    _A("ticket.subject", "E", "edit('subject')", "Subject", "Rename the ticket", "ticket", show=False),
    _A("ticket.fields", "e", "edit_menu", "Edit", "Pick a field to edit", "ticket"),
    _A(
        "ticket.undo_macro", "U", "undo_macro", "Undo macro", "Undo the macro staged on the draft", "ticket", show=False
    ),
    _A("ticket.call", "c", "log_call", "Call", "Log a phone call on this ticket", "ticket", show=False),
    _A("ticket.merge", "M", "merge", "Merge into", "Merge this ticket into another one", "ticket", show=False),
    _A("ticket.link", "L", "link", "Link problem", "Link to the problem ticket behind it", "ticket", show=False),
    _A("ticket.history", "H", "history", "History", "Who changed what, when and from where", "ticket", show=False),
    _A(
        "ticket.snooze", "Z", "snooze", "Snooze", "Out of the worklists until a time (or wake it)", "ticket", show=False
    ),
    _A(
        "ticket.log_time",
        "W",
        "log_time",
        "Log time",
        "Log time spent on this ticket (15m, 1h30m …)",
        "ticket",
        show=False,
    ),
    _A("ticket.next", "J", "step(1)", "Next ticket", "Next ticket of the queue", "ticket", show=False),
    _A("ticket.previous", "ctrl+k", "step(-1)", "Prev ticket", "Previous ticket of the queue", "ticket", show=False),
    # timeline
    _A("timeline.down", "down,j", "next_message", "Next", "Next message", "timeline", show=False, palette=False),
    _A("timeline.up", "up", "previous_message", "Previous", "Previous message", "timeline", show=False, palette=False),
    _A("timeline.fold", "enter,space", "toggle_fold", "More/less", "Show more or less of a message", "timeline"),
    _A("timeline.quoted", "z", "toggle_quoted", "Quoted", "Show or hide quoted email history", "timeline"),
    _A(
        "timeline.open_file",
        "o",
        "open_file",
        "Open file",
        "Open a file of the message (viewer or $PAGER)",
        "timeline",
        show=False,
    ),
    _A(
        "timeline.save_file",
        "w",
        "save_file",
        "Save file",
        "Save a file of the message to a folder",
        "timeline",
        show=False,
    ),
    _A(
        "timeline.preview_file",
        "v",
        "preview_file",
        "Preview",
        "Preview an image inline (Kitty/Sixel terminals)",
        "timeline",
        show=False,
    ),
    _A("timeline.top", "home,g", "first", "Top", "First message", "timeline", show=False, palette=False),
    _A("timeline.bottom", "end,G", "last", "Bottom", "Latest message", "timeline", show=False, palette=False),
    # composer
    _A("composer.send", "ctrl+s", "send", "Send", "Send with the chosen status", "composer", priority=True),
    _A(
        "composer.status",
        "ctrl+t",
        "cycle_status",
        "Submit as",
        "Cycle open / pending / solved",
        "composer",
        priority=True,
    ),
    _A(
        "composer.editor",
        "ctrl+e",
        "edit_external",
        "$EDITOR",
        "Edit the draft in your editor",
        "composer",
        priority=True,
    ),
    _A(
        "composer.kind",
        "ctrl+n",
        "switch_kind",
        "Reply/note",
        "Switch between reply and internal note",
        "composer",
        priority=True,
    ),
    _A(
        "composer.attach",
        "ctrl+o",
        "attach",
        "Attach",
        "Attach a file (path with completion)",
        "composer",
        priority=True,
    ),
    _A(
        "composer.detach",
        "ctrl+r",
        "detach",
        "Remove file",
        "Take a file off the draft before sending",
        "composer",
        priority=True,
        show=False,
    ),
    _A(
        "composer.undo_macro",
        "ctrl+u",
        "undo_macro",
        "Undo macro",
        "Undo the staged macro",
        "composer",
        priority=True,
        show=False,
    ),
    _A(
        "composer.close", "escape", "close", "Close", "Hide the composer (the draft is kept)", "composer", priority=True
    ),
    # macro panel
    _A("macros.apply", "enter", "apply", "Apply", "Stage the macro on the draft", "macros"),
    _A("macros.close", "escape", "close", "Close", "Close the panel", "macros"),
    _A("macros.down", "down", "cursor_down", "Down", "Next macro", "macros", show=False, palette=False),
    _A("macros.up", "up", "cursor_up", "Up", "Previous macro", "macros", show=False, palette=False),
    # knowledge base panel
    _A("kb.link", "enter", "insert_link", "Insert link", "Insert the article's link", "kb"),
    _A("kb.snippet", "ctrl+y", "insert_snippet", "Insert snippet", "Insert the article's first paragraph", "kb"),
    _A("kb.close", "escape", "close", "Close", "Close the panel", "kb"),
    _A("kb.down", "down", "cursor_down", "Down", "Next article", "kb", show=False, palette=False),
    _A("kb.up", "up", "cursor_up", "Up", "Previous article", "kb", show=False, palette=False),
    # similar tickets panel
    _A("similar.open", "enter", "open", "Open", "Open the similar ticket", "similar"),
    _A("similar.close", "escape", "close", "Close", "Close the panel", "similar"),
    # customer panel
    _A("customer.open", "enter", "open_other", "Open", "Open the customer's ticket", "customer"),
    _A("customer.merge", "M", "merge_customer", "Merge", "Merge this customer with another record", "customer"),
    # dashboard
    _A("dashboard.back", "escape,q", "back", "Back", "Back to where you were", "dashboard"),
    _A("dashboard.period", "p", "period", "Period", "30 days by day, 12 weeks by week, a year by month", "dashboard"),
    _A("dashboard.agent", "a", "by('agent')", "By agent", "The table by agent", "dashboard"),
    _A("dashboard.group", "g", "by('group')", "By group", "The table by group", "dashboard"),
    _A("dashboard.channel", "c", "by('channel')", "By channel", "The table by channel", "dashboard"),
    _A("dashboard.refresh", "r", "recompute", "Refresh", "Compute every figure again", "dashboard"),
    _A(
        "dashboard.trends",
        "t",
        "trends",
        "Trends",
        "This week's clusters of tickets against the 4 weeks before",
        "dashboard",
    ),
    # trends
    _A("trends.open", "enter", "open_cluster", "Open", "Show the cluster's tickets in the queue", "trends"),
    _A("trends.back", "escape,q", "back", "Back", "Back to the dashboard", "trends"),
    _A("trends.refresh", "r", "recompute", "Refresh", "Cluster this week's tickets again", "trends"),
    # routing rules
    _A("rules.back", "escape,q", "back", "Back", "Back to where you were", "rules"),
    _A("rules.toggle", "x", "toggle_active", "On/off", "Turn the rule under the cursor on or off", "rules"),
    _A("rules.edit", "e", "edit_rule", "Edit", "Edit the rule's YAML (checked when saved)", "rules"),
    _A("rules.new", "N", "new_rule", "New", "Write a new rule or automation in YAML", "rules"),
    _A("rules.run", "R", "run_automations", "Run now", "Run the time-based automations now", "rules", show=False),
    # lists and pickers
    _A("list.down", "down,j", "cursor_down", "Down", "Next", "list", show=False, palette=False),
    _A("list.up", "up,k", "cursor_up", "Up", "Previous", "list", show=False, palette=False),
    _A("list.page_down", "pagedown", "page_down", "Page down", "Next page", "list", show=False, palette=False),
    _A("list.page_up", "pageup", "page_up", "Page up", "Previous page", "list", show=False, palette=False),
    _A("list.first", "home", "first", "First", "First", "list", show=False, palette=False),
    _A("list.last", "end", "last", "Last", "Last", "list", show=False, palette=False),
    _A("list.select", "enter", "select", "Choose", "Choose", "list", show=False, palette=False),
)

BY_ID: dict[str, ConsoleAction] = {action.id: action for action in ACTIONS}


@dataclass(frozen=True)
class Context:
    """Where a key is pressed: the scopes that may answer it, innermost first.

    ``typing``: a text field has the focus and takes every printable key, so only the others
    (``ctrl+…``, ``escape``, arrows, function keys) reach the scopes around it.
    """

    name: str
    scopes: tuple[str, ...]
    typing: bool = False


CONTEXTS: tuple[Context, ...] = (
    Context("the queue's rows", ("queue-list", "queue", "app")),
    Context("the saved views", ("views", "list", "queue", "app")),
    Context("the filter bar", ("filter", "queue", "app"), typing=True),
    Context("the ticket's timeline", ("timeline", "ticket", "app")),
    Context("the composer", ("composer", "ticket", "app"), typing=True),
    Context("the customer panel", ("list", "customer", "ticket", "app")),
    Context("the macro search", ("macros", "ticket", "app"), typing=True),
    Context("the macro list", ("list", "macros", "ticket", "app")),
    Context("the knowledge-base search", ("kb", "ticket", "app"), typing=True),
    Context("the knowledge-base list", ("list", "kb", "ticket", "app")),
    Context("the similar-tickets list", ("list", "similar", "ticket", "app")),
    Context("the similar ticket's preview", ("similar", "ticket", "app")),
    Context("the dashboard", ("dashboard", "app")),
    Context("the trends", ("list", "trends", "app")),
    Context("a cluster's preview", ("trends", "app")),
    Context("the routing rules", ("list", "rules", "app")),
    Context("a routing rule's detail", ("rules", "app")),
)

#: Keys two actions share on purpose: (the one that answers, the one it hides) → why. The inner
#: one is nearer the focus; the outer one still answers everywhere else.
SHARED: dict[tuple[str, str], str] = {
    ("views.open", "queue.open"): "enter on a saved view shows it; on a row it opens the ticket",
    ("list.select", "queue.open"): "the saved views are a list: enter there is views.open",
    ("list.up", "ticket.kb"): "k moves up in a list, as in the queue; K opens the knowledge base anywhere",
    ("list.select", "macros.apply"): "enter on a macro in the list applies it, as enter in the search does",
    ("list.select", "kb.link"): "enter on an article in the list inserts its link, as enter in the search does",
    ("list.select", "customer.open"): "enter on one of the customer's tickets opens it",
    ("composer.close", "ticket.back"): "esc hides the composer first, then leaves the ticket",
    ("macros.close", "ticket.back"): "esc closes the macro panel first, then leaves the ticket",
    ("kb.close", "ticket.back"): "esc closes the knowledge-base panel first, then leaves the ticket",
    ("list.select", "similar.open"): "enter on a similar ticket opens it",
    ("similar.close", "ticket.back"): "esc closes the similar-tickets panel first, then leaves the ticket",
    ("list.select", "trends.open"): "enter on a cluster shows its tickets in the queue",
    ("help.close", "app.help"): "? closes the help screen it opened",
    ("customer.merge", "ticket.merge"): "M in the customer panel merges customers; elsewhere in the pane, tickets",
}


def shared(inner: str, outer: str) -> bool:
    """Whether ``inner`` and ``outer`` (binding ids) share a key on purpose, either way round."""
    return (inner, outer) in SHARED or (outer, inner) in SHARED


def bindings(scope: str) -> list[BindingType]:
    """The ``BINDINGS`` of one screen or widget."""
    return [action.binding for action in ACTIONS if action.scope == scope]


def in_scope(scope: str) -> list[ConsoleAction]:
    return [action for action in ACTIONS if action.scope == scope]
