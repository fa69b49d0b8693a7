"""What a tag may look like: one rule for mutations, imports and the command line.

Kept apart from the mutators (which need SQLAlchemy) so a command can check and compare tags
before it knows whether it has anything to write.
"""

from __future__ import annotations

import re

from supportdesk.domain.errors import ValidationFailed
from supportdesk.domain.text_safety import sanitize_line

_TAG = re.compile(r"^[a-z0-9][a-z0-9_\-:./]{0,79}$")


def normalize_tag(tag: str) -> str:
    value = sanitize_line(tag, redact=False).lower().replace(" ", "_")
    if not _TAG.match(value):
        raise ValidationFailed(f"{tag!r} is not a tag: use letters, digits and _ - : . / (at most 80)", field="tags")
    return value


def normalize_tags(tags: list[str]) -> list[str]:
    """Each tag once, in order; a comma splits one argument into several tags."""
    seen: dict[str, None] = {}
    for tag in tags:
        for part in tag.split(","):
            if part.strip():
                seen[normalize_tag(part)] = None
    return list(seen)
