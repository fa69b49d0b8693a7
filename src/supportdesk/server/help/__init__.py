"""The customer's side of the team server: the help center at ``/help`` and its web form.

:func:`install` plugs it into one app, as the channels plug in: its routers, its settings (the
``[help]`` table) and one :class:`~supportdesk.server.help.context.HelpCenter` kept in the
app state's ``extensions``. Imported only by the server (Jinja2, Babel and the templates load
with it, never at console launch).

- :mod:`.pages` — home, search, sections, articles, votes; :mod:`.form` — the web form;
  :mod:`.portal` — the customer's requests, signed in by a mailed link.
- :mod:`.bot` — the answer bot: offers one article to a new request, asks "Did this solve it?".
- :mod:`.search` — the public articles' index (bm25 and meaning, as the agents' KB ranks).
- :mod:`.tally` — writes each day's figures to the shared ``help_day`` rows reports read.
- :mod:`.activity` — views, searches, votes and deflections (the server's own bookkeeping).
- :mod:`.browser` — the anonymous browser cookie, CSRF tokens and voter hashes.
- :mod:`.render`, :mod:`.i18n`, ``templates/``, ``static/``, ``locales/`` — what customers see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supportdesk.server.help.settings import HelpSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from supportdesk.server.help.context import HelpCenter

__all__ = ["HelpSettings", "install"]


def install(app: FastAPI, settings: HelpSettings | None = None, *, semantic: bool = True) -> HelpCenter:
    """Serve the help center on ``app`` with ``settings`` (defaults: the unbranded ones)."""
    import secrets

    from supportdesk.server.help import bot, figures, form, pages, portal, tally
    from supportdesk.server.help.context import HelpCenter

    state = app.state.server
    settings = settings or HelpSettings()
    if not settings.secret:
        # one process only: CSRF tokens and voter hashes change when it restarts (README)
        from dataclasses import replace

        settings = replace(settings, secret=secrets.token_hex(32))
    center = HelpCenter.create(state, settings, semantic=semantic)
    state.extensions["help"] = center
    blobs = state.extensions.get("blobs")
    if blobs is not None and getattr(blobs, "store", None) is not None and settings.form_max_files:
        # the form's files are read and checked by the form itself (a page, not a JSON 413)
        state.config.max_body_by_path[form.NEW_PATH] = form.max_post_bytes(blobs.limits) * 2
        state.config.too_large_pages[form.NEW_PATH] = form.too_large_page(center, blobs.limits)
    else:
        state.config.max_body_by_path[form.NEW_PATH] = pages.MAX_FORM_BYTES * 2
        state.config.too_large_pages[form.NEW_PATH] = form.too_large_page(center, None)
    for router in (pages.router, form.router, portal.router, figures.router, bot.router):
        app.include_router(router)
    if settings.bot:
        bot.install(center)
    tally.install(center)
    return center
