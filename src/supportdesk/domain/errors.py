"""Typed errors of the write path, each carrying one sentence a person can act on.

The console shows ``str(error)`` in a notification, the CLI prints it on one line, the server
answers ``{"error": {"code": ..., "message": ..., "field": ...}}``. ``code`` is for programs.
"""

from __future__ import annotations

from typing import Any

from supportdesk.errors import SupportdeskError


class DomainError(SupportdeskError):
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            data["field"] = self.field
        return data


class ValidationFailed(DomainError):
    code = "invalid"


class NotFound(DomainError):
    code = "not_found"


class PermissionDenied(DomainError):
    code = "forbidden"


class InvalidTransition(DomainError):
    code = "invalid_transition"


class Conflict(DomainError):
    """A compare-and-set lost, or the ticket changed in a way the author had not seen."""

    code = "conflict"


class TemplateError(DomainError):
    code = "template"


class NeedsConfirmation(DomainError):
    """A change that is allowed but easy to regret; it goes through when the caller confirms it
    with the argument named in ``field`` (the CLI asks on a terminal, or needs ``--yes``)."""

    code = "needs_confirmation"


class UnknownMutation(DomainError):
    code = "unknown_mutation"


ERROR_TYPES: dict[str, type[DomainError]] = {
    cls.code: cls
    for cls in (
        ValidationFailed,
        NotFound,
        PermissionDenied,
        InvalidTransition,
        Conflict,
        TemplateError,
        NeedsConfirmation,
        UnknownMutation,
    )
}


def error_from_dict(data: dict[str, Any]) -> DomainError:
    """Rebuild an error the server sent back (sync keeps the original type)."""
    cls = ERROR_TYPES.get(str(data.get("code")), DomainError)
    return cls(str(data.get("message", "the server refused the change")), field=data.get("field"))
