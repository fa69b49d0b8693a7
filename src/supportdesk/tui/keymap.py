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
notification and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from supportdesk.tui.actions import BY_ID

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
    return result


def effective_keys(action_id: str, keymap: dict[str, str]) -> str:
    """The keys an action answers to now: the user's, else the default."""
    return keymap.get(action_id, BY_ID[action_id].keys)
