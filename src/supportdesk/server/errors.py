"""Refusals: :class:`ApiError`, a request the server refuses as a whole.

It is answered ``{"error": {"code", "message", "field"}}`` (:class:`supportdesk.protocol.ErrorBody`)
with its 4xx status by :mod:`supportdesk.server.handlers`; this module imports no web framework,
so the administration commands that share the write path stay quick to start.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request the server refuses as a whole, answered with ``status`` and a JSON error."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        error.update(self.extra)
        return {"error": error}
