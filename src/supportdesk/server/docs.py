"""The OpenAPI docs page (``/docs``), served whole by the server: it works without internet.

FastAPI's own page loads Swagger UI from a CDN, which a server on a closed network (or an admin
on a plane) cannot reach. Here the page, its script, its style sheet and its icon come from the
``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads the OpenAPI 3.1 document FastAPI
writes), the few lines that start it are ours, and a Content-Security-Policy lets the browser
load nothing from anywhere else. ReDoc, CDN-only in FastAPI, is not offered.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

import html
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from supportdesk.server.errors import ApiError

router = APIRouter(include_in_schema=False)

ASSETS = "/docs/assets"
#: The files of the Swagger UI distribution the page uses, and their types.
BUNDLED = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
#: Starts Swagger UI on this server's OpenAPI document. A file rather than an inline script, so
#: the page's policy allows scripts from this server only; no validator badge (it calls out).
START = """window.addEventListener("load", function () {
  var page = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: page.getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
});
"""
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
CACHE = "public, max-age=86400"


def _bundle_dir() -> Path:
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

    return Path(str(swagger_ui_path))


@router.get("/docs")
def docs_page(request: Request) -> HTMLResponse:
    """The Swagger UI page over ``/openapi.json``; every URL in it is this server's."""
    title = html.escape(f"{request.app.title} — API")
    openapi = html.escape(request.app.openapi_url or "/openapi.json")
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        f'<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">'
        f'<link rel="icon" type="image/png" href="{ASSETS}/favicon-32x32.png">'
        f'</head><body><div id="swagger-ui" data-openapi="{openapi}"></div>'
        f'<script src="{ASSETS}/swagger-ui-bundle.js"></script>'
        f'<script src="{ASSETS}/start.js"></script>'
        "</body></html>"
    )
    return HTMLResponse(page, headers={"Content-Security-Policy": POLICY, "Cache-Control": "no-cache"})


@router.get(ASSETS + "/start.js")
def start_script() -> Response:
    return Response(START, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": CACHE})


@router.get(ASSETS + "/{name}")
def bundled_asset(name: str) -> Response:
    """One file of the Swagger UI distribution (only those the page uses)."""
    if name not in BUNDLED:
        raise ApiError(404, "not_found", f"no docs asset {name!r}", field="name")
    return FileResponse(_bundle_dir() / name, media_type=BUNDLED[name], headers={"Cache-Control": CACHE})
