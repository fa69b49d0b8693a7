"""JSON read from files people hand us, without the three words Python's ``json`` adds to it.

``json.loads`` accepts ``NaN``, ``Infinity`` and ``-Infinity``, which JSON does not have: a record
carrying one would be stored as text no JSON reader accepts, and ``supportdesk export`` would
write it back out as an invalid file. Imports read through :func:`loads`, which refuses them.
"""

from __future__ import annotations

import json
from typing import Any


class NotJSONNumber(ValueError):
    """``NaN`` or an infinity where JSON allows only numbers."""


def _refuse(word: str) -> Any:
    raise NotJSONNumber(f"{word} is not a JSON number")


def loads(text: str) -> Any:
    """``json.loads`` that raises :class:`NotJSONNumber` (a ``ValueError``) for ``NaN``/``Infinity``."""
    return json.loads(text, parse_constant=_refuse)
