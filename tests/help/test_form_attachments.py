"""Files on the web form (``/help/new``), on a real server with a small blob-store limit.

Good files arrive on the request's first message, by their hash, under clean names. Hostile
posts — too large, too many, a program named like a PDF, a path or escape codes in the name, a
malformed body, a missing CSRF token or a filled honeypot — are refused with one sentence on
the page, and leave no ticket, no message and no stored file behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.help.conftest import HELP_TABLE, PNG, HelpServer, hidden, start_help_server

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def files_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HelpServer, Path]]:
    root = tmp_path_factory.mktemp("form-files")
    started = start_help_server(
        root,
        {**HELP_TABLE, "form_per_address": 50, "form_max_files": 3},
        tables={"attachments": {"max_file_mb": 1, "max_message_mb": 2}},
    )
    yield started, root / "attachments"
    started.server.stop()


def stored_files(folder: Path) -> set[str]:
    return {p.name for p in folder.rglob("*") if p.is_file() and len(p.name) == 64} if folder.exists() else set()


def post(
    server: HelpServer, files: list[tuple[str, tuple[str, bytes, str]]], *, email: str, **changes: Any
) -> httpx.Response:
    with server.client() as client:
        page = client.get("/help/new")
        assert 'enctype="multipart/form-data"' in page.text and 'type="file"' in page.text
        data = {
            "csrf": hidden(page.text, "csrf"),
            "form_id": hidden(page.text, "form_id"),
            "name": "Fay Files",
            "email": email,
            "subject": "My invoice is wrong",
            "description": "See the attached files.",
            "action": "send",
            **changes,
        }
        data = {k: v for k, v in data.items() if v is not None}
        return client.post("/help/new", data=data, files=files)


def tickets_of(server: HelpServer, email: str) -> int:
    return int(
        server.scalar(
            "SELECT count(*) FROM ticket t JOIN identity i ON i.customer_id = t.requester_id WHERE i.value = :e",
            e=email,
        )
    )


def test_files_arrive_on_the_first_message_under_clean_names(files_server: tuple[HelpServer, Path]) -> None:
    server, folder = files_server
    sent = post(
        server,
        [
            ("attachments", ("../../etc/invoice.pdf", PDF, "application/pdf")),
            ("attachments", ("scr\x1b[31meen\u202e.png", PNG, "image/png")),
        ],
        email="fay@example.com",
    )
    assert sent.status_code == 200, sent.text
    rows = server.scalar(
        "SELECT group_concat(a.filename || '|' || a.sha256 || '|' || a.size, ';') FROM attachment a "
        "JOIN message m ON m.id = a.message_id JOIN ticket t ON t.id = m.ticket_id "
        "JOIN identity i ON i.customer_id = t.requester_id WHERE i.value = 'fay@example.com'"
    )
    found = sorted(row.split("|") for row in rows.split(";"))
    assert found == sorted(
        [
            ["invoice.pdf", hashlib.sha256(PDF).hexdigest(), str(len(PDF))],
            ["scr[31meen.png", hashlib.sha256(PNG).hexdigest(), str(len(PNG))],
        ]
    )
    assert {hashlib.sha256(PDF).hexdigest(), hashlib.sha256(PNG).hexdigest()} <= stored_files(folder)


@pytest.mark.parametrize(
    ("case", "files", "status", "says"),
    [
        ("too large", [("attachments", ("big.pdf", PDF + b"0" * MIB, "application/pdf"))], 413, "larger than 1 MB"),
        (
            "too many",
            [("attachments", (f"f{n}.pdf", PDF + bytes([n]), "application/pdf")) for n in range(4)],
            413,
            "at most 3 files",
        ),
        (
            "together too large",
            [("attachments", (f"p{n}.pdf", PDF + bytes([n]) * (MIB * 4 // 5), "application/pdf")) for n in range(3)],
            413,
            "larger than 2 MB together",
        ),
        (
            "a program named like a PDF",
            [("attachments", ("invoice.pdf", b"MZ\x90\x00" + b"\0" * 64, "application/pdf"))],
            413,
            "not what its name says",
        ),
        (
            "a program",
            [("attachments", ("setup.exe", b"MZ\x90\x00" + b"\0" * 64, "application/x-msdownload"))],
            413,
            "is a program",
        ),
        ("empty", [("attachments", ("empty.pdf", b"", "application/pdf"))], 413, "is empty"),
    ],
)
def test_refused_files_leave_nothing_behind(
    files_server: tuple[HelpServer, Path], case: str, files: list[Any], status: int, says: str
) -> None:
    server, folder = files_server
    email = f"{case.replace(' ', '-')}@example.com"
    before = stored_files(folder)
    sent = post(server, files, email=email)
    assert sent.status_code == status, sent.text[:500]
    assert says in sent.text and "Choose the files again" in sent.text
    assert "See the attached files." in sent.text  # the customer's text is kept
    assert tickets_of(server, email) == 0
    assert stored_files(folder) == before


def test_csrf_and_the_honeypot_still_guard_a_post_with_files(files_server: tuple[HelpServer, Path]) -> None:
    server, folder = files_server
    before = stored_files(folder)
    pdf = [("attachments", ("ok.pdf", PDF + b"guard", "application/pdf"))]
    assert post(server, pdf, email="nocsrf@example.com", csrf="0" * 64).status_code == 403
    assert post(server, pdf, email="nocsrf@example.com", csrf=None).status_code == 403
    assert post(server, pdf, email="bot@example.com", website="http://spam.example").status_code == 422
    assert tickets_of(server, "nocsrf@example.com") == 0 and tickets_of(server, "bot@example.com") == 0
    assert stored_files(folder) == before


def test_a_malformed_body_is_refused_plainly(files_server: tuple[HelpServer, Path]) -> None:
    server, folder = files_server
    before = stored_files(folder)
    with server.client() as client:
        client.get("/help/new")
        for content_type, body in (
            ("multipart/form-data; boundary=xyz", b"--abc\r\nnot a part\r\n--abc--"),
            ("multipart/form-data", b"no boundary at all"),
            ("multipart/form-data; boundary=" + "b" * 400, b"--x--"),
        ):
            answered = client.post("/help/new", content=body, headers={"content-type": content_type})
            assert answered.status_code in (403, 413), answered.text[:300]
            assert "text/html" in answered.headers["content-type"]
    assert stored_files(folder) == before


def test_a_post_over_the_servers_limit_gets_the_forms_page_in_the_visitors_language(
    files_server: tuple[HelpServer, Path],
) -> None:
    """Over twice the form's own limit the server refuses before reading: the customer still gets
    a page in their language (never the API's JSON), and nothing is stored or filed."""
    server, folder = files_server
    before = stored_files(folder)
    body = b"--xyz\r\n" + b"a" * (7 * MIB) + b"\r\n--xyz--\r\n"
    with server.client() as client:
        answered = client.post(
            "/help/new",
            content=body,
            headers={"content-type": "multipart/form-data; boundary=xyz", "accept-language": "de"},
        )
    assert answered.status_code == 413
    assert "text/html" in answered.headers["content-type"]
    assert "Anfrage nicht gesendet" in answered.text and "2 MB" in answered.text
    assert stored_files(folder) == before
    with server.client() as client:  # the API's own refusal stays JSON
        api = client.post("/v1/push", content=b"x" * (9 * MIB), headers={"content-type": "application/json"})
    assert api.status_code == 413 and api.json()["error"]["code"] == "too_large"
