"""The help center's pages under ``/help``: home, search, sections, articles and votes.

Every page is rendered on the server and works without JavaScript; ``help.js`` only adds search
as you type (``/help/search.json``) and the web form's suggestions. Every response carries a
strict Content-Security-Policy (scripts and styles from this server only, nothing inline, no
frames, forms post only here), so even markup that slipped past escaping could not run.

Nobody signs in. Reads of the JSON endpoints and votes are limited per client address
(``[help] reads_per_minute``); a refusal is a page (or JSON for the JSON endpoints) saying so.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import DomainError
from supportdesk.server.auth import client_address
from supportdesk.server.handlers import ORJSONResponse
from supportdesk.server.help import activity, articles, browser
from supportdesk.server.help.context import HelpCenter, help_center
from supportdesk.server.help.render import article_html
from supportdesk.server.reads import snapshot

ROOT = "/help"
MAX_FORM_BYTES = 64 * 1024
STATIC = {
    "help.css": "text/css; charset=utf-8",
    "help.js": "text/javascript; charset=utf-8",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

router = APIRouter(prefix=ROOT, tags=["help center"], include_in_schema=False)

Q = Annotated[str, Query(max_length=200)]


class Visit:
    """One request's language, browser cookie and the context every template gets."""

    def __init__(self, center: HelpCenter, request: Request) -> None:
        self.center = center
        self.request = request
        self.lang_asked = request.query_params.get("lang")
        self.lang = center.language(request)
        self.browser = browser.valid_browser(request.cookies.get(browser.COOKIE))
        self.new_browser = self.browser is None
        if self.browser is None:
            self.browser = browser.new_browser()

    def gettext(self, message: str) -> str:
        return self.center.gettext(self.lang, message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.center.ngettext(self.lang, singular, plural, n)

    def context(self, **extra: Any) -> dict[str, Any]:
        return {**self.center.base_context(self.lang), "query": "", "switch": self.switch_links(), **extra}

    def switch_links(self) -> list[tuple[str, str, str]]:
        """The language switch: this page (its query kept, a form's page left for its blank
        form) in each offered language."""
        from urllib.parse import urlencode

        from supportdesk.server.help.context import LANGUAGE_NAMES

        kept = [(k, v) for k, v in self.request.query_params.multi_items() if k in ("q", "name")]
        path = self.request.url.path
        if self.request.method != "GET":
            path = path if path == f"{ROOT}/new" else ROOT
        return [
            (code, LANGUAGE_NAMES[code], f"{path}?{urlencode([*kept, ('lang', code)])}")
            for code in self.center.settings.languages
        ]

    def finish(self, response: Response) -> Response:
        response.headers.update(HEADERS)
        response.headers["Content-Language"] = self.lang
        response.headers["Vary"] = "Accept-Language, Cookie"
        response.headers["Cache-Control"] = "no-store"
        if self.new_browser:
            assert self.browser is not None
            response.set_cookie(
                browser.COOKIE, self.browser, max_age=365 * 86400, httponly=True, samesite="lax", path=ROOT
            )
        if self.lang_asked == self.lang:
            response.set_cookie(self.center.i18n_cookie, self.lang, max_age=365 * 86400, samesite="lax", path=ROOT)
        return response

    def page(self, template: str, status: int = 200, **extra: Any) -> Response:
        html = self.center.render(template, self.context(**extra))
        return self.finish(HTMLResponse(html, status_code=status))

    def message(self, status: int, heading: str, message: str, *, back: str | None = None) -> Response:
        kind = "ok" if status < 400 else "error"
        return self.page("message.html", status, heading=heading, message=message, kind=kind, back=back)

    def json(self, body: dict[str, Any], status: int = 200) -> Response:
        return self.finish(ORJSONResponse(body, status_code=status))

    def limited(self, limiter_name: str) -> float:
        return self.center.limiter(limiter_name).take(client_address(self.request))


def _hit(hit: Any) -> dict[str, str]:
    return {"title": hit.title, "url": f"{ROOT}/articles/{quote(hit.slug)}", "snippet": hit.snippet}


@router.get("")
def home(request: Request) -> Response:
    center = help_center(request)
    visit = Visit(center, request)
    with snapshot(center.database) as connection:
        popular = articles.most_viewed(connection)
        sections = articles.sections(connection)
    return visit.page("home.html", popular=popular, sections=sections)


@router.get("/search")
async def search_page(request: Request, q: Q = "") -> Response:
    center = help_center(request)
    visit = Visit(center, request)
    query = q.strip()
    if not query:
        return visit.page("search.html", hits=[])
    if visit.limited("reads"):
        return visit.message(429, visit.gettext("Too many searches"), _too_many(visit))
    hits = await run_in_threadpool(center.search.search, query, limit=20)
    await run_in_threadpool(activity.count, center.database, "search" if hits else "search_empty")
    return visit.page("search.html", hits=hits, query=query)


def _too_many(visit: Visit) -> str:
    return visit.gettext("Too many requests from your network. Please wait a minute and try again.")


@router.get("/search.json")
async def search_json(request: Request, q: Q = "") -> Response:
    """Search as you type: the same ranking as the search page, as JSON (not counted)."""
    center = help_center(request)
    visit = Visit(center, request)
    if visit.limited("reads"):
        return visit.json({"error": {"code": "rate_limited", "message": _too_many(visit), "field": None}}, 429)
    hits = await run_in_threadpool(center.search.search, q.strip(), limit=8)
    status = visit.ngettext("%(num)d article found", "%(num)d articles found", len(hits)) % {"num": len(hits)}
    return visit.json({"hits": [_hit(hit) for hit in hits], "status": status})


@router.get("/suggest.json")
async def suggest_json(request: Request, q: Q = "") -> Response:
    """Articles for the web form's subject while it is typed."""
    center = help_center(request)
    visit = Visit(center, request)
    if visit.limited("reads"):
        return visit.json({"error": {"code": "rate_limited", "message": _too_many(visit), "field": None}}, 429)
    hits = await run_in_threadpool(center.search.search, q.strip(), limit=5)
    return visit.json({"hits": [_hit(hit) for hit in hits]})


@router.get("/section")
def section(request: Request, name: Annotated[str, Query(max_length=120)] = "") -> Response:
    center = help_center(request)
    visit = Visit(center, request)
    with snapshot(center.database) as connection:
        listed = articles.in_section(connection, name)
    if not listed:
        return _not_found(visit)
    return visit.page("section.html", section=name, articles=listed)


def _not_found(visit: Visit) -> Response:
    _ = visit.gettext
    return visit.message(404, _("Page not found"), _("There is no such page in the help center."))


def _voted(center: HelpCenter, article_id: str, browser_id: str | None) -> bool | None:
    if browser_id is None:
        return None
    from sqlalchemy import text

    with center.database.read_engine.connect() as connection:
        row = connection.execute(
            text("SELECT helpful FROM help_vote WHERE article_id = :a AND voter = :v"),
            {"a": article_id, "v": browser.voter(center.settings.secret, browser_id)},
        ).first()
    return None if row is None else bool(row[0])


@router.get("/articles/{slug}")
async def article_page(
    request: Request, slug: str, form: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    center = help_center(request)
    visit = Visit(center, request)
    if len(slug) > 200:
        return _not_found(visit)

    def load() -> Any:
        with snapshot(center.database) as connection:
            return articles.article(connection, slug)

    found = await run_in_threadpool(load)
    if found is None:
        return _not_found(visit)
    await run_in_threadpool(activity.count, center.database, "view", found.id)
    form_id = browser.valid_form_id(form)
    if form_id is not None:
        await run_in_threadpool(activity.opened_from_form, center.database, form_id, found.id)
    voted = None if visit.new_browser else await run_in_threadpool(_voted, center, found.id, visit.browser)
    return visit.page(
        "article.html",
        article=found,
        body=article_html(found.body),
        updated=center.format_date(found.updated_at, visit.lang),
        voted=voted,
        csrf=browser.csrf_token(center.settings.secret, visit.browser or ""),
    )


async def read_form(request: Request, limit: int = MAX_FORM_BYTES) -> dict[str, str] | None:
    """The posted form's fields (first value each), or None when it is too large or not a form."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return None
    return {key: values[0] for key, values in parsed.items()}


@router.post("/articles/{slug}/vote")
async def vote(request: Request, slug: str) -> Response:
    """ "Was this helpful?": the browser's answer, counted once (a second answer replaces it)."""
    center = help_center(request)
    visit = Visit(center, request)
    _ = visit.gettext
    back = f"{ROOT}/articles/{quote(slug)}?lang={visit.lang}"
    fields = await read_form(request, 4096)
    if fields is None or fields.get("helpful") not in ("yes", "no"):
        return visit.message(400, _("Vote not recorded"), _("The answer was not understood."))
    if visit.new_browser or not browser.csrf_ok(center.settings.secret, visit.browser, fields.get("csrf")):
        return visit.message(
            403,
            _("Vote not recorded"),
            _("This page has expired or your browser refused our cookie. Reload the page and try again."),
            back=back,
        )
    if visit.limited("reads"):
        return visit.message(429, _("Vote not recorded"), _too_many(visit), back=back)

    def record() -> bool:
        with snapshot(center.database) as connection:
            found = articles.article(connection, slug)
        if found is None:
            return False
        helpful = fields["helpful"] == "yes"
        assert visit.browser is not None
        replaces = activity.record_vote(
            center.database, found.id, browser.voter(center.settings.secret, visit.browser), helpful
        )
        center.state.apply_as(
            SYSTEM, "article.vote", {"article_id": found.id, "helpful": helpful, "replaces": replaces}
        )
        return True

    try:
        recorded = await run_in_threadpool(record)
    except DomainError:
        recorded = False
    if not recorded:
        return _not_found(visit)
    response = Response(status_code=303, headers={"Location": back})
    return visit.finish(response)


@router.get("/brand.css")
def brand_css(request: Request) -> Response:
    """The configured colours, as a stylesheet (the CSP allows no inline style)."""
    settings = help_center(request).settings
    css = f":root {{ --brand: {settings.colour}; --on-brand: {settings.on_colour}; }}\n"
    return Response(css, media_type="text/css; charset=utf-8", headers={**HEADERS, "Cache-Control": "max-age=300"})


@router.get("/logo")
def logo(request: Request) -> Response:
    found = help_center(request).logo
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain", headers=HEADERS)
    return Response(found[0], media_type=found[1], headers={**HEADERS, "Cache-Control": "max-age=300"})


@router.get("/static/{name}")
def static(name: str) -> Response:
    from supportdesk.server.help.render import static_file

    kind = STATIC.get(name)
    if kind is None:
        return Response("not found", status_code=404, media_type="text/plain", headers=HEADERS)
    return Response(static_file(name), media_type=kind, headers={**HEADERS, "Cache-Control": "max-age=300"})
