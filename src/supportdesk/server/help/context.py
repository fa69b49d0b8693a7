"""What the help center of one server app shares: its settings, search, limits and catalogues.

:func:`supportdesk.server.help.install` keeps one :class:`HelpCenter` in the app state's
``extensions``; endpoints reach it with :func:`help_center`, never through a module global.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from supportdesk.server.help import i18n
from supportdesk.server.help.render import page
from supportdesk.server.help.search import HelpSearch
from supportdesk.server.help.settings import HelpSettings
from supportdesk.server.limits import RateLimiter

if TYPE_CHECKING:
    from fastapi import Request

    from supportdesk.server.db import ServerDatabase
    from supportdesk.server.state import ServerState

LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}
HOUR = 3600.0


@dataclass
class HelpCenter:
    state: ServerState
    settings: HelpSettings
    search: HelpSearch
    limiters: dict[str, RateLimiter] = field(default_factory=dict)
    i18n_cookie: str = i18n.COOKIE
    #: The logo's bytes and media type, read once at start (None: no logo).
    logo: tuple[bytes, str] | None = None

    @classmethod
    def create(cls, state: ServerState, settings: HelpSettings, *, semantic: bool = True) -> HelpCenter:
        from pathlib import Path

        from supportdesk.server.help.settings import logo_type

        logo = None
        if settings.logo:
            logo = (Path(settings.logo).expanduser().read_bytes(), logo_type(settings.logo))
        return cls(
            state,
            settings,
            HelpSearch(state.database, semantic=semantic),
            {
                "reads": RateLimiter(settings.reads_per_minute / 60.0, max(1, settings.reads_per_minute)),
                "form_ip": RateLimiter(settings.form_per_ip / HOUR, max(1, settings.form_per_ip)),
                "form_address": RateLimiter(settings.form_per_address / HOUR, max(1, settings.form_per_address)),
                # sign-in links: the form's limits, asked for separately
                "login_ip": RateLimiter(settings.form_per_ip / HOUR, max(1, settings.form_per_ip)),
                "login_address": RateLimiter(settings.form_per_address / HOUR, max(1, settings.form_per_address)),
            },
            logo=logo,
        )

    @property
    def database(self) -> ServerDatabase:
        return self.state.database

    def limiter(self, name: str) -> RateLimiter:
        return self.limiters[name]

    def language(self, request: Request) -> str:
        return i18n.choose_language(
            self.settings.languages,
            query=request.query_params.get("lang"),
            cookie=request.cookies.get(self.i18n_cookie),
            accept=request.headers.get("accept-language", "")[:500],
        )

    def gettext(self, lang: str, message: str) -> str:
        return i18n.translations(lang).gettext(message)

    def ngettext(self, lang: str, singular: str, plural: str, n: int) -> str:
        return i18n.translations(lang).ngettext(singular, plural, n)

    def format_date(self, when: datetime, lang: str) -> str:
        from babel.dates import format_date

        return format_date(when.date(), format="long", locale=lang)

    def base_context(self, lang: str) -> dict[str, Any]:
        catalogue = i18n.translations(lang)
        return {
            "root": "/help",
            "brand": self.settings.brand,
            "support_email": self.settings.support_email,
            "logo": self.logo is not None,
            "lang": lang,
            "languages": [(code, LANGUAGE_NAMES[code]) for code in self.settings.languages],
            "_": catalogue.gettext,
            "gettext": catalogue.gettext,
            "ngettext": catalogue.ngettext,
        }

    def render(self, template: str, context: dict[str, Any]) -> str:
        return page(template, context)


def help_center(request: Request) -> HelpCenter:
    return cast(HelpCenter, request.app.state.server.extensions["help"])
