"""The ``[help]`` table of the config file: the brand customers see, and the web form's limits.

Every key is optional; a wrong type or an unsafe colour is a :class:`ConfigError` naming the key,
so ``supportdesk serve`` refuses to start instead of rendering a broken page. Colours go into a
stylesheet served by the help center (never inline: the Content-Security-Policy allows none), so
they must be plain ``#rgb``/``#rrggbb`` values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from supportdesk.config import ConfigError

_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}){1,2}")
#: Languages with a complete catalogue shipped in ``locales/`` (English is the source text).
LANGUAGES = ("en", "de")
#: Channels a ticket may arrive on that the answer bot can answer (a reply reaches them).
BOT_CHANNELS = ("web", "chat", "email")


@dataclass(frozen=True)
class HelpSettings:
    """What the help center shows and allows (see the README's "Help center")."""

    #: False: no ``/help`` on this server.
    enabled: bool = True
    brand: str = "Support"
    colour: str = "#1f5f99"
    #: Text on ``colour`` (buttons, the header).
    on_colour: str = "#ffffff"
    support_email: str = ""
    #: A PNG, JPEG, WebP or GIF file shown before the brand name (read once at start).
    logo: str = ""
    #: Languages offered in the switch, the first being the default.
    languages: tuple[str, ...] = LANGUAGES
    #: Signs the web form's CSRF tokens and hashes voters; ``[channels] secret`` when not set.
    secret: str = ""
    #: Web-form submissions allowed an hour per client address and per email address.
    form_per_ip: int = 5
    form_per_address: int = 3
    #: Hours a portal sign-in lasts.
    session_hours: int = 12
    #: Searches and votes a minute per client address.
    reads_per_minute: int = 120
    max_subject: int = 200
    #: Files a customer may attach to the web form (sizes: ``[attachments]``; 0: none).
    form_max_files: int = 5
    max_description: int = 10_000
    #: Minutes after which an article opened from the form's suggestions, with no request filed
    #: from that form, counts as a deflection.
    deflection_minutes: int = 30
    #: The web form's name on tickets (``fields.form``) and the channel's submission id prefix.
    form_name: str = "help-center"
    #: The answer bot (README, "Answer bot"): off unless switched on here (or by
    #: ``SUPPORTDESK_ANSWER_BOT=1``; ``=0`` switches it off whatever the file says).
    bot: bool = False
    #: Confidence (0–1) an article needs before the bot offers it; bench/answer_bot.py measures
    #: precision and reach per threshold on a labelled set of questions.
    bot_threshold: float = 0.45
    #: Channels whose new tickets the bot may answer.
    bot_channels: tuple[str, ...] = ("web", "chat", "email")
    #: Groups (names) whose new tickets the bot may answer; empty: every group, and tickets in none.
    bot_groups: tuple[str, ...] = ()
    #: Seconds between writes of the day's figures (searches, views, deflections) to the
    #: shared ``help_day`` rows that reports read (0: never).
    tally_seconds: float = 60.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_section(cls, section: dict[str, Any], *, fallback_secret: str = "") -> HelpSettings:
        known = set(cls.__dataclass_fields__) - {"extra"}
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConfigError(f"[help] has no setting {unknown[0]!r}; the settings are {', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for key in ("brand", "colour", "on_colour", "support_email", "secret", "form_name", "logo"):
            if key in section:
                value = section[key]
                if not isinstance(value, str):
                    raise ConfigError(f"[help] {key} must be a string")
                values[key] = value.strip()
        for key in ("colour", "on_colour"):
            if key in values and not _COLOUR.fullmatch(values[key]):
                raise ConfigError(f"[help] {key} must be a colour like #1f5f99")
        if "brand" in values and not 0 < len(values["brand"]) <= 80:
            raise ConfigError("[help] brand must be 1–80 characters")
        for key in (
            "form_per_ip",
            "form_per_address",
            "reads_per_minute",
            "max_subject",
            "max_description",
            "deflection_minutes",
            "session_hours",
            "form_max_files",
        ):
            if key in section:
                value = section[key]
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ConfigError(f"[help] {key} must be a whole number ≥ 0")
                values[key] = value
        if values.get("logo"):
            logo_type(values["logo"])
        if "enabled" in section:
            if not isinstance(section["enabled"], bool):
                raise ConfigError("[help] enabled must be true or false")
            values["enabled"] = section["enabled"]
        if "bot" in section:
            if not isinstance(section["bot"], bool):
                raise ConfigError("[help] bot must be true or false")
            values["bot"] = section["bot"]
        if "bot_threshold" in section:
            value = section["bot_threshold"]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
                raise ConfigError("[help] bot_threshold must be a number above 0 and at most 1")
            values["bot_threshold"] = float(value)
        if "tally_seconds" in section:
            value = section["tally_seconds"]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError("[help] tally_seconds must be a number of seconds ≥ 0")
            values["tally_seconds"] = float(value)
        for key, allowed in (("bot_channels", BOT_CHANNELS), ("bot_groups", None)):
            if key in section:
                names = section[key]
                if not isinstance(names, list) or any(not isinstance(x, str) or not x.strip() for x in names):
                    raise ConfigError(f"[help] {key} must be a list of names")
                if allowed is not None and any(x not in allowed for x in names):
                    raise ConfigError(f"[help] {key} may name {', '.join(allowed)}")
                values[key] = tuple(x.strip() for x in names)
        if "languages" in section:
            languages = section["languages"]
            if not isinstance(languages, list) or not languages or any(x not in LANGUAGES for x in languages):
                raise ConfigError(f"[help] languages must be a list of {', '.join(LANGUAGES)}")
            values["languages"] = tuple(languages)
        import os

        switch = os.environ.get("SUPPORTDESK_ANSWER_BOT", "").strip().lower()
        if switch in ("0", "false", "no", "off"):
            values["bot"] = False
        elif switch in ("1", "true", "yes", "on"):
            values["bot"] = True
        if not values.get("secret"):
            values["secret"] = fallback_secret
        return cls(**values)


LOGO_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
}
MAX_LOGO_BYTES = 512 * 1024


def logo_type(path: str) -> str:
    """The media type of a logo file; a ConfigError when it is missing, too large or not an image
    a browser shows safely (no SVG: it may carry script)."""
    from pathlib import Path

    file = Path(path).expanduser()
    kind = LOGO_TYPES.get(file.suffix.lower())
    if kind is None:
        raise ConfigError(f"[help] logo must be a {', '.join(sorted(LOGO_TYPES))} file")
    try:
        size = file.stat().st_size
    except OSError as error:
        raise ConfigError(f"[help] logo {path}: {error.strerror or error}") from None
    if size > MAX_LOGO_BYTES:
        raise ConfigError(f"[help] logo is larger than {MAX_LOGO_BYTES // 1024} KiB")
    return kind
