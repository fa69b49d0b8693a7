"""The console in a browser (``supportdesk console --web``), served by textual-serve.

Each browser tab that connects starts the same console as ``supportdesk`` in a terminal, as a
child process on the same workspace, and textual-serve carries its screen and the keys and
clicks over a WebSocket. The console keeps every rule it has in a terminal: it writes through
the one write path, and several consoles on one workspace are safe.

What a browser page on the agent's machine could do to a local server is guarded here, because
whoever drives this console acts as the agent on their workspace:

- **The link carries a secret.** Pages and the socket live under ``/c/<token>/``, a random
  token printed once at start; without it the server answers 403. Other users of the machine,
  and pages that guess the port, cannot open a console.
- **Only our own page may open the socket**: a WebSocket whose ``Origin`` is not this server
  is refused (browsers let any site open a socket to 127.0.0.1, so this is what stops another
  tab's site from typing into the console), and on loopback a ``Host`` other than the loopback
  address is refused (DNS rebinding).
- **The page loads nothing from elsewhere**: our template (not textual-serve's, whose page links
  a web-font service) takes the font, script and stylesheet from the package, and its
  Content-Security-Policy forbids any other origin; it may not be framed (clickjacking).
- **At most** :data:`MAX_SESSIONS` consoles at once, so a reloading tab cannot fill the machine
  with processes.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from textual_serve.server import Server

#: Consoles served at once (each is a process of its own).
MAX_SESSIONS = 4
TEMPLATE = "web_console.html"
_HERE = Path(__file__).parent
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    """The secret part of the console's link."""
    return secrets.token_urlsafe(24)


def host_name(host: str) -> str:
    """The name in a ``Host`` header, without its port or an IPv6 address's brackets."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(name: str) -> bool:
    """Whether ``name`` is this machine only: ``localhost`` or a loopback address."""
    import ipaddress

    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def content_security_policy(host: str) -> str:
    """Everything from this server and nothing from anywhere else (the terminal's script adds
    its own style element and draws on a canvas, hence inline styles and data: images)."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "font-src 'self'",
            "img-src 'self' data: blob:",
            f"connect-src 'self' ws://{host} wss://{host}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        )
    )


class ConsoleServer(Server):
    """textual-serve's server with our page, our routes and the guards of the module's doc."""

    def __init__(self, command: str, *, host: str, port: int, title: str, token: str, loopback: bool) -> None:
        super().__init__(command, host=host, port=port, title=title, templates_path=_HERE)
        self.token = token
        self.loopback = loopback
        self.sessions = 0
        self.url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/c/{token}/"

    # -- the routes -----------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self.guard])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(_HERE), autoescape=True)
        app.add_routes(
            [
                web.get("/", self.handle_root),
                web.get("/c/{token}/", self.handle_page),
                web.get("/c/{token}/ws", self.handle_console_socket),
                # textual-serve's page asks for files the console delivers at /download/<key>
                # (the key is a random id the console made); the console sends none today
                web.get("/download/{key}", self.handle_download),
                web.static("/static", self.statics_path, show_index=False),
            ]
        )
        return app

    def allowed_host(self, host: str) -> bool:
        """On loopback only the loopback names (a rebound DNS name is someone else's page)."""
        if not self.loopback:
            return True
        return is_loopback(host_name(host))

    @web.middleware
    async def guard(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        if not self.allowed_host(request.host):
            raise web.HTTPMisdirectedRequest(text="this console answers on its loopback address only\n")
        token = request.match_info.get("token")
        if token is not None and not hmac.compare_digest(token.encode(), self.token.encode()):
            raise web.HTTPForbidden(text="this link is not the console's: use the one printed when it started\n")
        return await handler(request)

    async def handle_root(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPForbidden(text="open the console with the link printed when it started (it holds a secret)\n")

    async def handle_page(self, request: web.Request) -> web.StreamResponse:
        try:
            font_size = min(max(int(request.query.get("fontsize", "16")), 8), 40)
        except ValueError:
            font_size = 16
        context = {
            "title": self.title,
            "font_size": font_size,
            "static_url": "/static/",
            "websocket_url": f"ws://{request.host}/c/{self.token}/ws",
        }
        response = aiohttp_jinja2.render_template(TEMPLATE, request, context)
        response.headers["Content-Security-Policy"] = content_security_policy(request.host)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def handle_console_socket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"http://{request.host}":
            raise web.HTTPForbidden(text="a page of another site may not drive this console\n")
        if self.sessions >= MAX_SESSIONS:
            raise web.HTTPServiceUnavailable(
                text=f"{MAX_SESSIONS} consoles are open already: close one (or its tab) first\n"
            )
        self.sessions += 1
        try:
            return await self.handle_websocket(request)
        finally:
            self.sessions -= 1

    # -- running ----------------------------------------------------------------------------------

    def initialize_logging(self) -> None:
        """Problems only, one line each (textual-serve's banner and access log are left out:
        every request line would repeat the secret link)."""
        logging.basicConfig(level=logging.WARNING, format="supportdesk: %(name)s: %(message)s")

    def run(self, announce: Callable[[str], None]) -> None:
        """Serve until ctrl+c or SIGTERM; ``announce`` gets the link once the port is open."""
        import asyncio
        import signal

        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, self.request_exit)

        web.run_app(
            self.make_app(),
            host=self.host,
            port=self.port,
            handle_signals=False,
            loop=loop,
            access_log=None,
            # aiohttp prints its banner once the port is open: that is when the link works
            print=lambda _banner: announce(self.url),
        )
