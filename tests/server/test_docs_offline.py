"""The OpenAPI docs page works without internet: every URL in it is the server's own, and every
one of them answers."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from tests.live import Deployment


class References(HTMLParser):
    """Every URL the page makes a browser load (src, href) and every inline script."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href", "data-openapi"):
            if found.get(name):
                self.urls.append(str(found[name]))
        self._in_script = tag == "script" and not found.get("src")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_the_docs_page_loads_only_from_the_server_itself(sqlite_deployment: Deployment) -> None:
    with sqlite_deployment.api(None) as client:
        page = client.get("/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        references = References()
        references.feed(page.text)
        assert len(references.urls) >= 4, references.urls
        for url in references.urls:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc and url.startswith("/"), f"{url} is not this server's"
            answer = client.get(url)
            assert answer.status_code == 200, url
            assert len(answer.content) > 0, url
        assert references.inline_scripts == 0
        scripts = [url for url in references.urls if url.endswith(".js")]
        assert any("swagger-ui-bundle" in url for url in scripts)
        assert (
            client.get(next(u for u in scripts if "bundle" in u)).headers["content-type"].startswith("text/javascript")
        )
        # the browser itself is told to load nothing from elsewhere
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "http" not in policy
        assert "cdn" not in page.text.lower()
        # the page's document lists the API, and the CDN-only ReDoc page is not offered
        assert "/v1/push" in client.get("/openapi.json").json()["paths"]
        assert client.get("/redoc").status_code == 404
        missing = client.get("/docs/assets/../../etc/passwd")
        assert missing.status_code == 404
        assert client.get("/docs/assets/swagger-ui.js.map").json()["error"]["code"] == "not_found"
