"""Whether the terminal can show images inline, found out once before the console starts.

`textual-image <https://pypi.org/project/textual-image/>`_ draws images with Kitty's graphics
protocol or Sixel. It must ask the terminal what it supports *before* Textual takes the
terminal over (a question asked later would be answered into the console's input), and asking
costs up to a few tenths of a second. So :func:`probe` asks only when ``[console]
inline_images`` is ``on``, or ``auto`` (the default) and the environment names a terminal known
to draw images (Kitty, WezTerm, Ghostty, Konsole, foot, iTerm2, mlterm, contour, a ``TERM``
with ``sixel``). Everywhere else the preview is a label with a link to the file and ``o`` opens
it in the system viewer — never a half-drawn block picture passed off as a preview.
"""

from __future__ import annotations

import os
import sys
from typing import Any

#: Where images are drawn: "tgp" (Kitty graphics), "sixel", or None (a label and a link).
_mode: str | None = None
_widget: Any = None

_TERMINALS = ("kitty", "wezterm", "ghostty", "konsole", "foot", "mlterm", "contour", "sixel", "iterm")


def _hinted() -> bool:
    names = " ".join(os.environ.get(name, "") for name in ("TERM", "TERM_PROGRAM", "LC_TERMINAL")).lower() + (
        " kitty" if os.environ.get("KITTY_WINDOW_ID") else ""
    )
    names += " konsole" if os.environ.get("KONSOLE_VERSION") else ""
    return any(name in names for name in _TERMINALS)


def probe(section: dict[str, Any]) -> str | None:
    """Ask the terminal (see the module docstring); returns the mode found. Call before ``run()``."""
    global _mode, _widget
    setting = str(section.get("inline_images", "auto")).lower()
    if setting in ("off", "false", "no") or not (sys.__stdout__ and sys.__stdout__.isatty()):
        return None
    if setting == "auto" and not _hinted():
        return None
    try:
        from textual_image.renderable import Image as Renderable
        from textual_image.renderable.sixel import Image as SixelRenderable
        from textual_image.renderable.tgp import Image as TGPRenderable
        from textual_image.widget import Image as Widget
    except Exception:  # not installed, or the terminal answered nonsense: labels then
        return None
    if Renderable is TGPRenderable:
        _mode, _widget = "tgp", Widget
    elif Renderable is SixelRenderable:
        _mode, _widget = "sixel", Widget
    return _mode


def force(mode: str | None) -> None:
    """Use a drawing of textual-image without asking (tests: ``halfcell`` draws in any terminal)."""
    global _mode, _widget
    if mode is None:
        _mode, _widget = None, None
        return
    import textual_image.widget as widgets

    _widget = {"tgp": widgets.TGPImage, "sixel": widgets.SixelImage, "halfcell": widgets.HalfcellImage}[mode]
    _mode = mode


def mode() -> str | None:
    return _mode


def image_widget(path: str, **kwargs: Any) -> Any:
    """A textual-image widget for ``path``, or None when images are not drawn here."""
    if _widget is None:
        return None
    return _widget(path, **kwargs)
