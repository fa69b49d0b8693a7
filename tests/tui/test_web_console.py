"""``supportdesk console --web`` in a real headless Chromium (Debian's chromium + chromium-driver).

The server runs as the agent would start it (a subprocess on a free loopback port); the browser
opens the printed link, moves down the queue, opens the ticket, writes a reply and sends it, and
the reply is in the workspace afterwards. The console draws on a canvas, so what it shows is
read from the bytes the page received over its WebSocket (recorded by a script the browser runs
before the page's own, escape sequences taken out). Every wait is on a condition.

The guards of :mod:`supportdesk.tui.web` are tested over plain HTTP and WebSocket beside it:
the secret link, the Origin and Host checks, and a page that loads nothing from elsewhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from supportdesk.store.workspace import Workspace
from tests.conftest import DEMO_NOW
from tests.help.test_browser import ARTIFACTS as HELP_ARTIFACTS
from tests.help.test_browser import browser  # noqa: F401  (the shared Chromium)
from tests.live import free_port
from tests.tui.test_flows import rows

pytestmark = pytest.mark.integration

WAIT = 60.0
_ESCAPES = re.compile(
    r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\][^\x07\x1b]*(\x07|\x1b\\)"  # OSC
    r"|[PX^_][^\x1b]*\x1b\\"  # DCS and the other strings
    r"|[()][0-9A-Za-z]|.)"
)

# Records the text of every binary frame the console sends, before the page's script runs.
RECORDER = """
window.__screen = "";
const Native = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
  const decoder = new TextDecoder("utf-8");
  socket.addEventListener("message", (event) => {
    if (typeof event.data !== "string") {
      window.__screen += decoder.decode(new Uint8Array(event.data), {stream: true});
    }
  });
  return socket;
};
window.WebSocket.prototype = Native.prototype;
Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
"""


@dataclass
class WebConsole:
    process: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return self.url.split("/c/", 1)[0]


def _read_lines(process: subprocess.Popen[str], into: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        into.append(line)


def start_web_console(root: Path, *extra: str) -> WebConsole:
    env = {**os.environ, "SUPPORTDESK_NOW": DEMO_NOW.isoformat(), "TZ": "UTC"}
    process = subprocess.Popen(
        [sys.executable, "-m", "supportdesk", "-w", str(root), "console", "--web", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    threading.Thread(target=_read_lines, args=(process, lines), daemon=True).start()
    deadline = time.monotonic() + WAIT
    while not any("http://" in line for line in lines):
        if process.poll() is not None:
            raise AssertionError(f"console --web ended: {process.stderr.read() if process.stderr else ''}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"console --web printed no link: {lines!r}")
        time.sleep(0.05)
    url = re.search(r"http://\S+", "".join(lines))
    assert url is not None
    return WebConsole(process, url.group(0), lines)


@pytest.fixture
def web_console(console_workspace: Workspace) -> Iterator[WebConsole]:
    served = start_web_console(console_workspace.root, "--port", str(free_port()))
    yield served
    served.process.terminate()
    try:
        served.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait(timeout=30)


def wait_until(driver: Any, condition: Any) -> Any:
    """The help center's wait with more time: a console starts a process of its own per tab."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT).until(condition)


def screen_text(driver: Any) -> str:
    """What the console sent since the last :func:`clear`, escape sequences removed."""
    return _ESCAPES.sub("", driver.execute_script("return window.__screen || ''"))


def clear(driver: Any) -> None:
    driver.execute_script("window.__screen = ''")


def wait_for_text(driver: Any, *wanted: str) -> str:
    """Wait until the console has drawn all of ``wanted``; the text drawn so far."""

    def drawn(d: Any) -> str | bool:
        text = screen_text(d)
        return text if all(w in text for w in wanted) else False

    try:
        return str(wait_until(driver, drawn))
    except Exception as error:
        raise AssertionError(f"the console never drew {wanted!r}; last: {screen_text(driver)[-600:]!r}") from error


def press(driver: Any, *keys: str) -> None:
    """Type into the terminal as an agent would (xterm.js turns keys into what a terminal sends)."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def ctrl(driver: Any, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    ActionChains(driver).key_down(Keys.CONTROL).send_keys(key).key_up(Keys.CONTROL).perform()


def until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return value


def test_an_agent_replies_from_the_browser(
    browser: Any,  # noqa: F811
    web_console: WebConsole,
    console_workspace: Workspace,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORDER})
    browser.set_window_size(1280, 800)
    browser.get(web_console.url)
    wait_until(browser, lambda d: "-first-byte" in (d.find_element(By.TAG_NAME, "body").get_attribute("class") or ""))
    wait_for_text(browser, "row 1 of")
    browser.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").click()

    clear(browser)
    press(browser, "j")
    wait_for_text(browser, "row 2 of")
    clear(browser)
    press(browser, Keys.ENTER)
    pane = wait_for_text(browser, "requester", "via")
    clear(browser)
    press(browser, "r")
    wait_for_text(browser, "Public reply", "send")
    body = "Sent from the browser console: the refund is on its way"
    clear(browser)
    press(browser, body)
    wait_for_text(browser, "refund is on its way")
    artifacts = HELP_ARTIFACTS.parent / "console"
    artifacts.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(artifacts / "web-console-composer.png"))
    ctrl(browser, "s")

    sent = until(
        lambda: rows(
            console_workspace,
            "SELECT m.ticket_id, t.number, t.subject, m.direction, m.public, m.author_kind FROM message m "
            "JOIN ticket t ON t.id = m.ticket_id WHERE m.body = ?",
            body,
        ),
        "the reply in the workspace",
    )
    assert len(sent) == 1
    reply = sent[0]
    assert (reply["direction"], reply["public"], reply["author_kind"]) == ("outbound", 1, "agent")
    # the ticket that got the reply is the one the pane showed (its number was drawn there)
    assert f"#{reply['number']}" in pane, pane[-800:]
    # everything the page loaded came from the console's own server
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(name.startswith(web_console.origin) for name in loaded), loaded


def test_the_link_is_needed_and_the_page_loads_nothing_from_elsewhere(web_console: WebConsole) -> None:
    page = httpx.get(web_console.url, timeout=30)
    assert page.status_code == 200
    assert "http" not in page.text.replace(web_console.origin, ""), "the page names another server"
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    font = httpx.get(f"{web_console.origin}/static/fonts/RobotoMono-VariableFont_wght.ttf", timeout=30)
    assert font.status_code == 200 and len(font.content) > 10_000
    assert httpx.get(f"{web_console.origin}/", timeout=30).status_code == 403
    assert httpx.get(f"{web_console.origin}/c/not-the-token/", timeout=30).status_code == 403
    token = web_console.url.rstrip("/").rsplit("/", 1)[1]
    same_length = "".join("b" if c == "a" else "a" for c in token)
    assert httpx.get(web_console.url.replace(token, same_length), timeout=30).status_code == 403
    assert httpx.get(f"{web_console.origin}/static/", timeout=30).status_code in (403, 404)


def _handshake(url: str, **headers: str) -> int:
    """The status of a WebSocket handshake to the console's socket (101 when let in)."""
    import asyncio

    import aiohttp

    async def attempt() -> int:
        async with aiohttp.ClientSession() as client:
            try:
                async with client.ws_connect(url + "ws?width=80&height=24", headers=headers) as socket:
                    await socket.close()
                    return 101
            except aiohttp.WSServerHandshakeError as error:
                return error.status

    return asyncio.run(attempt())


def test_another_sites_page_cannot_drive_the_console(web_console: WebConsole) -> None:
    """Browsers let any site open a WebSocket to 127.0.0.1: the Origin decides."""
    assert _handshake(web_console.url, Origin="https://evil.example") == 403
    assert _handshake(web_console.url, Origin="null") == 403
    host = web_console.origin.removeprefix("http://")
    # DNS rebinding: the attacker's name resolved to 127.0.0.1, their page's own origin
    assert _handshake(web_console.url, Host=f"evil.example:{host.rsplit(':', 1)[1]}") == 421
    # without the token, with the right origin
    assert _handshake(f"{web_console.origin}/c/guess/", Origin=web_console.origin) == 403
    # the console's own page is let in (and the console it starts is stopped with the server)
    assert _handshake(web_console.url, Origin=web_console.origin) == 101


def test_a_reloading_tab_cannot_fill_the_machine_with_consoles(web_console: WebConsole) -> None:
    """Each socket is a console process: the fifth at once is refused, and a closed one frees its place."""
    import asyncio

    import aiohttp

    from supportdesk.tui.web import MAX_SESSIONS

    async def attempt() -> tuple[int, int]:
        async with aiohttp.ClientSession() as client:
            url = web_console.url + "ws?width=80&height=24"
            headers = {"Origin": web_console.origin}
            sockets = [await client.ws_connect(url, headers=headers) for _ in range(MAX_SESSIONS)]
            try:
                try:
                    extra = await client.ws_connect(url, headers=headers)
                except aiohttp.WSServerHandshakeError as error:
                    refused = error.status
                else:
                    await extra.close()
                    refused = 101
            finally:
                for socket in sockets:
                    await socket.close()
            # the server counts a console gone once its socket's handler has ended
            deadline = time.monotonic() + WAIT
            while True:
                try:
                    again = await client.ws_connect(url, headers=headers)
                except aiohttp.WSServerHandshakeError as error:
                    if error.status != 503 or time.monotonic() > deadline:
                        return refused, error.status
                    await asyncio.sleep(0.1)
                else:
                    await again.close()
                    return refused, 101

    assert asyncio.run(attempt()) == (503, 101)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7", "example.com"])
def test_a_reachable_address_is_refused_without_allow_remote(console_workspace: Workspace, host: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "supportdesk", "-w", str(console_workspace.root), "console", "--web", "--host", host],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--allow-remote" in done.stderr, done.stderr
    assert done.stdout == ""


def test_allow_remote_serves_with_a_warning(console_workspace: Workspace) -> None:
    served = start_web_console(
        console_workspace.root, "--host", "0.0.0.0", "--allow-remote", "--port", str(free_port())
    )
    try:
        assert served.url.startswith("http://0.0.0.0:")
        local = served.url.replace("0.0.0.0", "127.0.0.1")
        assert httpx.get(local, timeout=30).status_code == 200
    finally:
        served.process.terminate()
        _, stderr = served.process.communicate(timeout=30)
    assert "warning:" in stderr and "acts as you" in stderr, stderr


def test_host_and_port_without_web_is_a_usage_error(console_workspace: Workspace) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "supportdesk", "-w", str(console_workspace.root), "console", "--port", "9000"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "go with --web" in done.stderr
