"""The user's keys from the config file: ``[keys]`` remaps binding ids, ``[macro_keys]`` binds
macros.

```toml
[keys]
"queue.solve" = "x"            # a binding id from the help screen (?) → one key or "a,b"
"composer.send" = "ctrl+enter"

[macro_keys]
"f5" = "Refund issued"          # a key → the name of a macro, applied on the open ticket
```

Mistakes never stop the console: an unknown id or a bad key is reported once as a
notification and ignored, and so is a key that two actions would answer in one place
(:func:`clashes`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from supportdesk.tui.actions import ACTIONS, BY_ID, CONTEXTS, SCOPES, shared

_KEY = re.compile(r"^[A-Za-z0-9_+\-]{1,40}$")


@dataclass
class UserKeys:
    keymap: dict[str, str] = field(default_factory=dict)
    macro_keys: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _valid_keys(keys: str) -> bool:
    parts = [part.strip() for part in keys.split(",")]
    return bool(parts) and all(_KEY.match(part) for part in parts)


def load_user_keys(keys: dict[str, str], macro_keys: dict[str, str]) -> UserKeys:
    """Check the two tables; what cannot be used is left out and named in ``problems``."""
    result = UserKeys()
    for binding_id, value in keys.items():
        if binding_id not in BY_ID:
            result.problems.append(f"[keys] {binding_id!r} is not a binding id (see the help screen)")
        elif not _valid_keys(value):
            result.problems.append(f"[keys] {binding_id} = {value!r} is not a key")
        else:
            result.keymap[binding_id] = value
    for key, macro in macro_keys.items():
        if not _valid_keys(key) or "," in key:
            result.problems.append(f"[macro_keys] {key!r} is not a key")
        elif not macro.strip():
            result.problems.append(f"[macro_keys] {key} names no macro")
        else:
            result.macro_keys[key] = macro.strip()
    result.problems.extend(clashes(result.keymap, result.macro_keys))
    return result


def _printable(key: str) -> bool:
    """A key a text field takes as a character (``a``, ``K``, ``5``), not a command key."""
    return len(key) == 1 or key in ("space", "question_mark", "slash", "semicolon")


def clashes(keymap: dict[str, str], macro_keys: dict[str, str]) -> list[str]:
    """Every key that two actions would answer in one place, one sentence each.

    A key answers the innermost scope that binds it, so two actions on one key in one context
    mean one of them is unreachable there — unless :data:`~supportdesk.tui.actions.SHARED` says
    the pair shares it on purpose. Macro keys are bound on the ticket pane.
    """
    found: dict[str, list[str]] = {}  # key → a sentence for each place it clashes
    for context in CONTEXTS:
        answering: dict[str, list[tuple[str, str]]] = {}  # key → [(binding id, action)] innermost first
        for scope in context.scopes:
            for action in ACTIONS:
                if action.scope != scope:
                    continue
                for key in effective_keys(action.id, keymap).split(","):
                    key = key.strip()
                    if context.typing and scope != context.scopes[0] and _printable(key):
                        continue  # the text field takes it
                    answering.setdefault(key, []).append((action.id, action.action))
            if scope == "ticket":
                for key, macro in macro_keys.items():
                    if not (context.typing and _printable(key)):
                        answering.setdefault(key, []).append((f"[macro_keys] {key}", f"macro {macro}"))
        for key, actions in answering.items():
            for index, (inner, inner_action) in enumerate(actions):
                for outer, outer_action in actions[index + 1 :]:
                    if inner_action != outer_action and not shared(inner, outer):
                        found.setdefault(key, []).append(f"{_who(inner)} and {_who(outer)} in {context.name}")
    problems = []
    for key, places in found.items():
        more = f" (and {len(places) - 1} more place{'s' if len(places) > 2 else ''})" if len(places) > 1 else ""
        problems.append(f"{key} answers both {places[0]}{more}: give one of them another key in [keys] or [macro_keys]")
    return problems


def _who(binding: str) -> str:
    action = BY_ID.get(binding)
    if action is None:
        return binding
    return f"{binding} ({SCOPES[action.scope]}: {action.description})"


def effective_keys(action_id: str, keymap: dict[str, str]) -> str:
    """The keys an action answers to now: the user's, else the default."""
    return keymap.get(action_id, BY_ID[action_id].keys)
