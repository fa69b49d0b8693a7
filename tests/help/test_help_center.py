"""The help center over HTTP on a real server: pages, escaping, search, votes, languages, the form."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.help.conftest import HELP_TABLE, HelpServer, hidden, start_help_server

pytestmark = pytest.mark.integration


def test_every_page_is_html_with_a_strict_policy(help_server: HelpServer) -> None:
    with help_server.client() as client:
        for path in (
            "/help",
            "/help/search?q=refund",
            "/help/section?name=Billing",
            "/help/articles/refunds",
            "/help/new",
        ):
            page = client.get(path)
            assert page.status_code == 200, path
            assert page.headers["content-type"].startswith("text/html")
            policy = page.headers["content-security-policy"]
            assert (
                "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
            )
            assert page.headers["x-content-type-options"] == "nosniff"
            assert "Acme Help" in page.text
        assert "--brand: #0b6e4f" in client.get("/help/brand.css").text
        logo = client.get("/help/logo")
        assert logo.headers["content-type"] == "image/png" and logo.content.startswith(b"\x89PNG")
        assert 'src="/help/logo"' in client.get("/help").text
        assert client.get("/help/static/../../pyproject.toml").status_code == 404
        assert client.get("/help/static/nothing.js").status_code == 404


def test_home_lists_sections_and_popular_articles(help_server: HelpServer) -> None:
    with help_server.client() as client:
        for _ in range(3):
            client.get("/help/articles/change-delivery-address")
        home = client.get("/help").text
    assert "Billing" in home and "Account" in home and "Orders" in home
    popular = home.split('id="popular"')[1].split("</section>")[0]
    assert popular.index("Change the delivery address") < popular.index("Refunds and returns")


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every element of a page with its attributes, as a browser's parser sees them."""
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(html)
    return found


def test_hostile_article_is_shown_as_text(help_server: HelpServer) -> None:
    with help_server.client() as client:
        page = client.get("/help/articles/hostile").text
        listed = client.get("/help/section?name=Account").text
        found = client.get("/help/search.json", params={"q": "click"}).json()
    for html in (page, listed):
        assert "<script>window.pwned" not in html
        assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in html
    tags = _tags(page)
    assert [dict(t[1]).get("src") for t in tags if t[0] == "script"] == ["/help/static/help.js"]
    assert [dict(t[1]).get("src") for t in tags if t[0] == "img"] == ["/help/logo"]  # the brand logo only
    assert not [(t, k) for t in tags for k, v in t[1] if k.startswith("on") or (v or "").startswith("javascript")]
    assert "[click me](javascript:window.pwned=3)" in page  # the refused link stays visible as text
    assert found["hits"][0]["title"].startswith("<script>")  # JSON carries text; help.js sets textContent


def test_internal_articles_are_never_shown(help_server: HelpServer) -> None:
    with help_server.client() as client:
        assert client.get("/help/articles/internal-escalations").status_code == 404
        assert client.get("/help/search.json", params={"q": "escalations engineering"}).json()["hits"] == []
        assert "Escalations" not in client.get("/help/search", params={"q": "escalations"}).text
        assert client.get("/help/section", params={"name": ""}).status_code == 404


def test_search_ranks_like_the_agents_kb_and_follows_typing(help_server: HelpServer) -> None:
    with help_server.client() as client:
        typed = client.get("/help/search.json", params={"q": "passw"}).json()
        meant = client.get("/help/search.json", params={"q": "I want my money back"}).json()
        nothing = client.get("/help/search", params={"q": "zzqx"})
        odd = client.get("/help/search.json", params={"q": '"* OR NEAR( -'})
        long = client.get("/help/search.json", params={"q": "x" * 201})
    assert typed["hits"][0]["title"] == "Reset your password"
    assert meant["hits"][0]["title"] == "Refunds and returns"
    assert "No article matches your search" in nothing.text
    assert odd.status_code == 200
    assert long.status_code == 422


def test_votes_count_once_per_browser_and_can_change(help_server: HelpServer) -> None:
    article = help_server.ids["reset-password"]

    def counts() -> tuple[int, int]:
        return (
            help_server.scalar("SELECT helpful_votes FROM kb_article WHERE id = :a", a=article),
            help_server.scalar("SELECT unhelpful_votes FROM kb_article WHERE id = :a", a=article),
        )

    before = counts()
    with help_server.client() as client:
        page = client.get("/help/articles/reset-password").text
        csrf = hidden(page, "csrf")
        for _ in range(2):
            voted = client.post("/help/articles/reset-password/vote", data={"helpful": "yes", "csrf": csrf})
            assert voted.status_code == 303
        assert counts() == (before[0] + 1, before[1])
        client.post("/help/articles/reset-password/vote", data={"helpful": "no", "csrf": csrf})
        assert counts() == (before[0], before[1] + 1)
        assert "Thank you for your feedback" in client.get("/help/articles/reset-password").text
        # a vote is a named mutation: it is in the change log every replica pulls
        assert (
            help_server.scalar(
                "SELECT count(*) FROM change_log WHERE entity = 'kb_article' AND entity_id = :a", a=article
            )
            >= 3
        )
    with help_server.client() as stranger:
        forged = stranger.post("/help/articles/reset-password/vote", data={"helpful": "yes", "csrf": csrf})
        assert forged.status_code == 403 and "expired" in forged.text
        stranger.get("/help/articles/reset-password")
        wrong = stranger.post("/help/articles/reset-password/vote", data={"helpful": "yes", "csrf": "0" * 64})
        assert wrong.status_code == 403
        internal = stranger.post(
            "/help/articles/internal-escalations/vote",
            data={"helpful": "yes", "csrf": hidden(stranger.get("/help/articles/refunds").text, "csrf")},
        )
        assert internal.status_code == 404
    assert counts() == (before[0], before[1] + 1)
    assert help_server.scalar("SELECT helpful_votes FROM kb_article WHERE slug = 'internal-escalations'") == 0


def test_language_follows_accept_language_and_the_switch(help_server: HelpServer) -> None:
    with help_server.client(**{"Accept-Language": "fr;q=0.9, de-CH;q=0.8, en;q=0.1"}) as client:
        german = client.get("/help/articles/refunds")
        assert german.headers["content-language"] == "de"
        assert "War das hilfreich?" in german.text and '<html lang="de">' in german.text
        english = client.get("/help", params={"lang": "en"})
        assert "How can we help?" in english.text
        assert "How can we help?" in client.get("/help").text  # the switch is remembered
        assert client.get("/help", params={"lang": "xx"}).headers["content-language"] == "en"
        searched = client.get("/help/search", params={"q": "<refund>"}).text
        assert 'href="/help/search?q=%3Crefund%3E&amp;lang=de"' in searched  # the switch keeps the query
        assert (
            "Ergebnisse für „&lt;refund&gt;“" in client.get("/help/search", params={"q": "<refund>", "lang": "de"}).text
        )


def _form(client: object) -> tuple[str, str]:
    page = client.get("/help/new").text  # type: ignore[attr-defined]
    return hidden(page, "csrf"), hidden(page, "form_id")


def test_the_form_files_a_ticket_through_the_web_form_channel_once(help_server: HelpServer) -> None:
    email = f"rita-{uuid.uuid4().hex[:6]}@example.com"
    with help_server.client() as client:
        csrf, form_id = _form(client)
        fields = {
            "csrf": csrf,
            "form_id": form_id,
            "name": "Rita <b>R</b>",
            "email": email,
            "subject": "Kettle leaks <script>x</script>",
            "description": "It leaks.\nPlease help.",
            "website": "",
            "action": "send",
        }
        sent = client.post("/help/new", data=fields)
        assert sent.status_code == 200, sent.text
        reference = sent.text.split("request number is ")[1].split(";")[0]
        again = client.post("/help/new", data=fields)
        assert again.text.split("request number is ")[1].split(";")[0] == reference
    number = int(reference.removeprefix("#"))
    assert help_server.scalar("SELECT count(*) FROM ticket WHERE subject LIKE 'Kettle leaks%'") == 1
    assert help_server.scalar("SELECT channel FROM ticket WHERE number = :n", n=number) == "web"
    # the team's acknowledgement rule queued exactly one confirmation mail to the customer
    ticket = "(SELECT id FROM ticket WHERE number = :n)"
    assert (
        help_server.scalar(
            f"SELECT recipient FROM channel_outbox WHERE kind = 'auto_reply' AND ticket_id = {ticket}", n=number
        )
        == email
    )
    assert f"we have your request {reference}" in help_server.scalar(
        f"SELECT body FROM message WHERE author_kind = 'system' AND ticket_id = {ticket}", n=number
    )
    assert (
        help_server.scalar(
            "SELECT count(*) FROM channel_conversation WHERE channel = 'webform' AND ticket_id = "
            "(SELECT id FROM ticket WHERE number = :n)",
            n=number,
        )
        == 1
    )


def test_the_form_refuses_clearly_and_keeps_the_text(help_server: HelpServer) -> None:
    tickets = help_server.scalar("SELECT count(*) FROM ticket")
    with help_server.client() as client:
        csrf, form_id = _form(client)
        base = {
            "csrf": csrf,
            "form_id": form_id,
            "name": "",
            "email": "a@example.com",
            "subject": "Hi",
            "description": "Words I typed",
        }
        forged = client.post("/help/new", data={**base, "csrf": "f" * 64})
        assert forged.status_code == 403 and "expired" in forged.text and "Words I typed" in forged.text
        trapped = client.post("/help/new", data={**base, "website": "http://spam"})
        assert trapped.status_code == 422 and "automated" in trapped.text
        bad = client.post("/help/new", data={**base, "email": "not-an-address", "subject": "", "description": ""})
        assert bad.status_code == 422
        assert (
            "Enter an email address like" in bad.text and "Enter a subject" in bad.text and "Describe what" in bad.text
        )
        assert 'value="not-an-address"' in bad.text
        huge = client.post("/help/new", data={**base, "description": "x" * 10_001})
        assert huge.status_code == 422 and "too long" in huge.text
        oversized = client.post("/help/new", data={**base, "description": "x" * 200_000})
        assert oversized.status_code == 413
    with help_server.client() as other:
        other.get("/help/new")
        cross = other.post("/help/new", data=base)  # another browser's token
        assert cross.status_code == 403
    assert help_server.scalar("SELECT count(*) FROM ticket") == tickets


def test_the_form_suggests_without_javascript_and_counts_deflections(help_server: HelpServer) -> None:
    with help_server.client() as client:
        csrf, form_id = _form(client)
        shown = client.post(
            "/help/new",
            data={
                "csrf": csrf,
                "form_id": form_id,
                "email": "",
                "subject": "forgot my password",
                "description": "",
                "action": "suggest",
            },
        )
        assert shown.status_code == 200 and "These may answer your question" in shown.text
        assert f"/help/articles/reset-password?form={form_id}" in shown.text
        assert (
            client.get("/help/suggest.json", params={"q": "password"}).json()["hits"][0]["title"]
            == "Reset your password"
        )
        client.get(f"/help/articles/reset-password?form={form_id}")
        # a second form whose customer read an article and then sent the request anyway
        csrf2, form2 = _form(client)
        client.get(f"/help/articles/refunds?form={form2}")
        sent = client.post(
            "/help/new",
            data={
                "csrf": csrf2,
                "form_id": form2,
                "email": "x@example.com",
                "subject": "Refund",
                "description": "Still no refund",
            },
        )
        assert sent.status_code == 200
    with help_server.admin() as admin:
        figures = admin.get("/v1/help/figures").json()
    assert figures["deflections"] >= 1
    assert help_server.scalar("SELECT count(*) FROM help_deflection WHERE form_id = :f", f=form2) == 0
    assert help_server.scalar("SELECT count(*) FROM help_deflection WHERE form_id = :f", f=form_id) == 1
    assert figures["form_tickets"] >= 1 and figures["views"] >= 1
    with help_server.client() as nobody:
        assert nobody.get("/v1/help/figures").status_code in (401, 403)


def test_per_address_limit(help_server: HelpServer) -> None:
    email = f"busy-{uuid.uuid4().hex[:6]}@example.com"
    with help_server.client() as client:
        codes = []
        for n in range(3):
            csrf, form_id = _form(client)
            codes.append(
                client.post(
                    "/help/new",
                    data={
                        "csrf": csrf,
                        "form_id": form_id,
                        "email": email,
                        "subject": f"Try {n}",
                        "description": "Text",
                    },
                )
            )
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert "this email address" in codes[2].text and "Text" in codes[2].text


def test_per_ip_limit(tmp_path_factory: pytest.TempPathFactory) -> None:
    started = start_help_server(
        tmp_path_factory.mktemp("help-ip"), {**HELP_TABLE, "form_per_ip": 1, "form_per_address": 10}
    )
    try:
        with started.client() as client:
            results = []
            for n in range(2):
                csrf, form_id = _form(client)
                results.append(
                    client.post(
                        "/help/new",
                        data={
                            "csrf": csrf,
                            "form_id": form_id,
                            "email": f"p{n}@example.com",
                            "subject": "S",
                            "description": "D",
                        },
                    )
                )
        assert [r.status_code for r in results] == [200, 429]
        assert "from your network" in results[1].text
        assert started.scalar("SELECT count(*) FROM ticket") == 1
    finally:
        started.server.stop()


def test_a_bad_help_table_stops_serve_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[help]\ncolour = "red; background: url(//evil)"\n')
    done = subprocess.run(
        [sys.executable, "-m", "supportdesk", "serve", "--db", str(tmp_path / "s.db"), "--port", "1"],
        env={**os.environ, "SUPPORTDESK_CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"supportdesk: error: {config}: [help] colour must be a colour like #1f5f99"
    ]


def test_the_customers_own_text_comes_back_escaped(help_server: HelpServer) -> None:
    with help_server.client() as client:
        csrf, form_id = _form(client)
        page = client.post(
            "/help/new",
            data={
                "csrf": csrf,
                "form_id": form_id,
                "name": '"><script>x()</script>',
                "email": "bad",
                "subject": "<img src=x onerror=y()>",
                "description": "</textarea><script>z()</script>",
            },
        ).text
    assert "<script>x()" not in page and "<img src=x" not in page and "</textarea><script>" not in page
    assert "&lt;/textarea&gt;&lt;script&gt;z()&lt;/script&gt;" in page
