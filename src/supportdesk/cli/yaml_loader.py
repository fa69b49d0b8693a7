"""The one YAML loader for admins' documents: PyYAML's safe loader without anchors or aliases.

It lives apart from ``yamlio`` (rules and SLA files) and ``documents`` (macros and articles)
because both read through it and each already imports the other's writer; see
:mod:`supportdesk.cli.yamlio` for why aliases are refused.
"""

from __future__ import annotations

from typing import Any


def loader() -> Any:
    """PyYAML's safe loader that refuses anchors and aliases (see the module docstring)."""
    import yaml  # type: ignore[import-untyped]

    class NoAliases(yaml.SafeLoader):  # type: ignore[misc]
        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent):
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"YAML aliases (*{event.anchor}) are not accepted: write the value out",
                    event.start_mark,
                )
            if getattr(event, "anchor", None) is not None:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"YAML anchors (&{event.anchor}) are not accepted: write the value out",
                    event.start_mark,
                )
            return super().compose_node(parent, index)

    return NoAliases
