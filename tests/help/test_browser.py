"""The help center in a real headless Chromium (Debian's chromium + chromium-driver, Selenium).

Search as you type, read an article, vote; the web form's suggestions while the subject is
typed; a hostile article runs nothing; axe-core (the copy shipped inside axe-selenium-python,
injected from disk) finds no serious or critical violation; every page is photographed at
1280 and 375 px into ``$SUPPORTDESK_ARTIFACTS`` (default: ``test-artifacts/help`` in the
worktree) for the README.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.channels.smtp_helpers import RecordingRelay
from tests.help.conftest import HelpServer
from tests.help.test_portal import TICKETS, _link_for, portal  # noqa: F401  (the portal's server and relay)

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(os.environ.get("SUPPORTDESK_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")) / "help"
WAIT = 30


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium and chromium-driver (.ci/run does)")
        pytest.skip(
            "browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=en-US"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_window_size(1280, 900)
    yield driver
    driver.quit()


def wait_until(driver: Any, condition: Any) -> Any:
    """Until ``condition`` holds; an element read while the page reloads (a vote posted, a search
    redrawn) is stale, and the condition is asked again rather than failing."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def photograph(driver: Any, name: str) -> None:
    """The page at 1280 and at 375 px wide (full height), and no sideways scrolling on a phone."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 375):
        driver.set_window_size(width, 900)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, max(600, min(int(height) + 40, 4000)))
        if width == 375:
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} scrolls sideways on a 375-px screen"
        driver.save_screenshot(str(ARTIFACTS / f"{name}-{width}.png"))
    driver.set_window_size(1280, 900)


def axe_violations(driver: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the current page (axe.min.js read from disk)."""
    import axe_selenium_python

    script = Path(axe_selenium_python.__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
    # the page's CSP governs its own scripts, not what WebDriver evaluates
    driver.execute_script(script.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations), e => done([{id: String(e), impact: 'critical'}]));"
    )
    return [v for v in result if v.get("impact") in ("serious", "critical")]


def test_search_read_and_vote(browser: Any, help_server: HelpServer) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{help_server.url}/help")
    assert axe_violations(browser) == []
    photograph(browser, "home")
    box = browser.find_element(By.ID, "q")
    box.send_keys("passw")
    link = wait_until(
        browser, lambda d: [a for a in d.find_elements(By.CSS_SELECTOR, "#live-results a") if a.text][:1]
    )[0]
    assert link.text == "Reset your password"
    photograph(browser, "search-as-you-type")
    link.click()
    wait_until(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Reset your password")
    assert axe_violations(browser) == []
    photograph(browser, "article")
    before = help_server.scalar("SELECT helpful_votes FROM kb_article WHERE slug = 'reset-password'")
    browser.find_element(By.CSS_SELECTOR, "button[value=yes]").click()
    wait_until(browser, lambda d: "Thank you for your feedback" in d.find_element(By.CSS_SELECTOR, ".vote").text)
    assert help_server.scalar("SELECT helpful_votes FROM kb_article WHERE slug = 'reset-password'") == before + 1
    photograph(browser, "article-voted")


def test_search_without_javascript_results_page(browser: Any, help_server: HelpServer) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{help_server.url}/help/search?q=refund")
    assert browser.find_element(By.CSS_SELECTOR, "ul.results a").text == "Refunds and returns"
    assert axe_violations(browser) == []
    photograph(browser, "search-results")


def test_hostile_article_runs_nothing(browser: Any, help_server: HelpServer) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{help_server.url}/help/articles/hostile")
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading.startswith("<script>window.pwned = 1</script>")
    for link in browser.find_elements(By.CSS_SELECTOR, ".body a"):
        link.click()
    assert browser.execute_script("return window.pwned === undefined")
    body = browser.find_element(By.CSS_SELECTOR, ".body").text
    assert "<script>window.pwned = 2</script>" in body and "[click me](javascript:window.pwned=3)" in body
    photograph(browser, "hostile-article")


def test_the_form_suggests_while_typing_and_files(browser: Any, help_server: HelpServer) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{help_server.url}/help/new")
    assert axe_violations(browser) == []
    browser.find_element(By.ID, "subject").send_keys("I forgot my password")
    suggestion = wait_until(
        browser, lambda d: [a for a in d.find_elements(By.CSS_SELECTOR, "#suggestions a") if a.is_displayed()][:1]
    )[0]
    assert suggestion.text == "Reset your password"
    photograph(browser, "form-suggestions")
    browser.find_element(By.ID, "email").send_keys("browser@example.com")
    browser.find_element(By.ID, "description").send_keys("The link in the mail does not open.")
    browser.find_element(By.CSS_SELECTOR, "button[value=send]").click()
    status = wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "p.ok"))[0]
    assert "request number is #" in status.text
    photograph(browser, "form-sent")


def test_german_pages(browser: Any, help_server: HelpServer) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{help_server.url}/help?lang=de")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Wie können wir helfen?"
    assert axe_violations(browser) == []
    photograph(browser, "home-de")
    browser.get(f"{help_server.url}/help/section?name=Account")
    assert axe_violations(browser) == []
    photograph(browser, "section-de")
    browser.get(f"{help_server.url}/help/articles/no-such-article")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Seite nicht gefunden"
    assert axe_violations(browser) == []
    browser.get(f"{help_server.url}/help?lang=en")


def test_portal_sign_in_by_mail_answer_and_see_the_reply(
    browser: Any,
    portal: tuple[HelpServer, RecordingRelay],  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By

    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as
    from supportdesk.server.db import open_database

    server, handler = portal
    bob = TICKETS["bob@example.com"]
    browser.delete_all_cookies()
    browser.get(f"{server.url}/help/requests")
    assert axe_violations(browser) == []
    photograph(browser, "portal-sign-in")
    browser.find_element(By.ID, "email").send_keys("bob@example.com")
    browser.find_element(By.CSS_SELECTOR, "form[action$=sign-in] button").click()
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "p.ok"))
    with handler.lock:
        seen = len([m for m in handler.received if "bob@example.com" in m.rcpt_tos]) - 1
    browser.get(_link_for(handler, "bob@example.com", max(seen, 0)))
    browser.find_element(By.CSS_SELECTOR, "form[action*=sign-in] button").click()
    link = wait_until(browser, lambda d: d.find_elements(By.PARTIAL_LINK_TEXT, "private matter"))[0]
    assert axe_violations(browser) == []
    photograph(browser, "portal-requests")
    link.click()
    box = wait_until(browser, lambda d: d.find_elements(By.ID, "body"))[0]
    box.send_keys("Any news? <b>soon</b>")
    browser.find_element(By.CSS_SELECTOR, "form[action$=reply] button").click()
    wait_until(browser, lambda d: "Any news? <b>soon</b>" in d.find_element(By.CSS_SELECTOR, "ol.conversation").text)
    database = open_database(server.server.db)
    try:
        apply_as(database, SYSTEM, "ticket.reply", {"ticket_id": bob["ticket_id"], "body": "It ships tomorrow."})
    finally:
        database.dispose()
    browser.refresh()
    wait_until(browser, lambda d: "It ships tomorrow." in d.find_element(By.CSS_SELECTOR, "ol.conversation").text)
    assert axe_violations(browser) == []
    photograph(browser, "portal-request")
