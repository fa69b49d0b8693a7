"""Read a running Request Tracker 5 over its REST2 API, for ``supportdesk import --from rt --url``.

The rows read here are the rows :mod:`supportdesk.domain.request_tracker` reads from RT's
database file, handed to the same mapping, so a ticket imported by file or by URL becomes the
same workspace rows (ids derived from RT's ids, a rerun skips what is here).

What is asked of RT, all with the importing agent's rights (an RT admin sees everything):

- ``/users``, the ``Privileged`` system group's members and ``/queues/all`` once; an RT that
  hides its system groups from REST2 (Debian's 5.0.3+dfsg-3~deb12u7 and later, after
  CVE-2026-108353) is asked ``/user/N`` instead, once for each user who owns a ticket or wrote
  on one (only they can be agents; see :class:`_AskedPrivileged`);
- ``/tickets`` with TicketSQL ``EffectiveId > 0 AND Type = 'ticket' AND Status != 'deleted'``
  (mentioning ``EffectiveId`` keeps merged tickets in, as the database reader has them), every
  page, with their owner, queue, requestors and custom fields expanded;
- per ticket, a ``/transactions`` search (its Create, Correspond and Comment transactions),
  an ``/attachments`` search for their parts, and ``/attachment/N`` for the content of the
  parts a message is made of (text parts and files); a part RT says is larger than the limit
  is never downloaded, and a download is cut off at the limit whatever RT claimed.

RT is a server on the network, so its answers are checked like any input: an HTML page (a
login form, a proxy's error page), malformed JSON, a 401, a redirect to another host (the
credentials are not followed there: only redirects within the same scheme, host and port are)
and an oversized answer each stop the import with one line (exit 4); what was imported stays.
The pages' own ``next_page`` links are not followed either: the pages are counted here.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from supportdesk.domain.errors import ValidationFailed
from supportdesk.domain.request_tracker import (
    CHANGE_FIELDS,
    CHANGE_TYPES,
    MAX_ATTACHMENT_BYTES,
    MESSAGE_TYPES,
    RTDatabase,
    StoreBytes,
    TicketRow,
    TransactionRow,
    _Part,
    mapped,
)
from supportdesk.errors import SupportdeskError

if TYPE_CHECKING:
    import httpx

#: The tickets the import reads: every ticket but deleted ones, merged ones included.
TICKETS_QUERY = "EffectiveId > 0 AND Type = 'ticket' AND Status != 'deleted'"
#: RT's largest page.
PER_PAGE = 100
#: Bytes of one JSON answer (a page of 100 tickets or parts is far smaller).
MAX_ANSWER_BYTES = 64 * 1024 * 1024
#: Bytes of a part's content RT may hold for it to be downloaded (as the database reader:
#: twice the attachment limit, so a body that is cut still has its start).
MAX_PART_BYTES = MAX_ATTACHMENT_BYTES * 2
#: Bytes of one ``/attachment/N`` answer: the part as base64 inside a little JSON.
MAX_PART_ANSWER_BYTES = MAX_PART_BYTES * 4 // 3 + 1024 * 1024
MAX_REDIRECTS = 5
#: Empty pages in a row RT may answer while saying more follow (a page of tickets the agent may
#: not see is empty): 100,000 tickets hidden in a row, more than any RT has.
MAX_EMPTY_PAGES = 1000
#: Pages of one collection: 20 million items, more than any RT holds. A server that keeps
#: promising more with new ids on every page (or two pages in turn) ends here, not never.
MAX_PAGES = 200_000
#: Tickets whose transactions, parts and contents are read together.
BATCH = 50
#: Bytes of part content asked for in one search (a larger part is asked for on its own).
CONTENT_BUDGET = 4 * 1024 * 1024
TICKET_FIELDS = (
    "EffectiveId,Queue,Owner,Subject,Status,Priority,Resolved,LastUpdated,Created,Creator,Requestor,CustomFields"
)


class RTServerError(SupportdeskError):
    """RT could not be read: unreachable, refused, or answered something that is not REST2 JSON."""


class RTAuthFailed(RTServerError):
    """RT refused the token or the user and password."""


@dataclass(frozen=True)
class Credentials:
    """An RT auth token, or a user and password (basic auth); never both needed."""

    token: str | None = None
    user: str | None = None
    password: str | None = None


def api_base(url: str) -> str:
    """RT's REST2 root from what the user typed: ``https://rt.example.com`` or its ``/REST/2.0``."""
    parts = urlsplit(url.strip())
    if parts.username is not None or parts.password is not None:
        # sent with every request and shown in every error line ("RT at …"): never in the URL
        raise ValidationFailed(
            "--url takes RT's address without a user or password: give --user (the password is asked, "
            "or SUPPORTDESK_RT_PASSWORD) or --token",
            field="url",
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            f"--url takes RT's http(s) address, e.g. https://rt.example.com, not {url!r}", field="url"
        )
    path = parts.path.rstrip("/")
    if not path.lower().endswith("/rest/2.0"):
        path += "/REST/2.0"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def _shown(text: str, limit: int = 160) -> str:
    """Text from RT in an error line: one line, no control characters, not too long."""
    flat = re.sub(r"[\x00-\x1f\x7f-\x9f]+", " ", text).strip()
    return flat if len(flat) <= limit else flat[:limit] + "…"


class RTClient:
    """One RT's REST2 API: JSON answers checked, credentials kept to RT's own host."""

    def __init__(self, url: str, credentials: Credentials, *, timeout: float = 120.0) -> None:
        import httpx

        self.base = api_base(url)
        self.origin = _origin(self.base)
        headers = {"Accept": "application/json", "User-Agent": "supportdesk-import"}
        auth: httpx.BasicAuth | None = None
        if credentials.token:
            headers["Authorization"] = f"token {credentials.token}"
        elif credentials.user:
            auth = httpx.BasicAuth(credentials.user, credentials.password or "")
        self._client = httpx.Client(headers=headers, auth=auth, timeout=timeout, follow_redirects=False)
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RTClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one request -------------------------------------------------------------------

    def _send(self, method: str, path: str, params: dict[str, Any], body: Any, limit: int) -> tuple[int, str, bytes]:
        """Status, content type and (at most ``limit``) bytes of RT's answer, after redirects
        within RT's own origin. More than ``limit`` bytes: the bytes read so far and status -1."""
        import httpx

        url = self.base + path
        content = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else {}
        for _ in range(MAX_REDIRECTS + 1):
            self.requests += 1
            try:
                with self._client.stream(method, url, params=params, content=content, headers=headers) as answer:
                    if answer.is_redirect:
                        target = urljoin(str(answer.url), answer.headers.get("location", ""))
                        if _origin(target) != self.origin:
                            raise RTServerError(
                                f"RT at {self.base} redirected to {_shown(target)}, another host; not following it "
                                "with your credentials (give --url the address RT answers at)"
                            )
                        url, params = target, {}
                        continue
                    data = bytearray()
                    for chunk in answer.iter_bytes():
                        data += chunk
                        if len(data) > limit:
                            return -1, answer.headers.get("content-type", ""), bytes(data[:limit])
                    return answer.status_code, answer.headers.get("content-type", ""), bytes(data)
            except httpx.TimeoutException:
                raise RTServerError(f"RT at {self.base} did not answer {path} in time") from None
            except httpx.TransportError as error:
                raise RTServerError(
                    f"cannot reach RT at {self.base}: {_shown(str(error)) or type(error).__name__}"
                ) from None
        raise RTServerError(f"RT at {self.base} redirected {path} more than {MAX_REDIRECTS} times")

    def call(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        """RT's JSON answer to one request; anything else is an :class:`RTServerError`."""
        status, content_type, data = self._send(method, path, params or {}, body, MAX_ANSWER_BYTES)
        if status == -1:
            raise RTServerError(f"RT's answer to {path} is larger than {MAX_ANSWER_BYTES // (1024 * 1024)} MB")
        return self._parse(path, status, content_type, data)

    def _parse(self, path: str, status: int, content_type: str, data: bytes) -> Any:
        """The JSON of a whole answer, or the one line that says what is wrong with it."""
        parsed: Any = None
        if "json" in content_type.lower():
            try:
                parsed = json.loads(data)
            except (ValueError, UnicodeDecodeError) as error:
                raise RTServerError(f"RT at {self.base} answered {path} with malformed JSON ({error})") from None
        if status in (401, 403):
            raise RTAuthFailed(
                f"RT at {self.base} refused the credentials (HTTP {status}): check the token (--token, "
                "SUPPORTDESK_RT_TOKEN) or the user and password, and that the user may see the tickets"
            )
        if parsed is None:
            kind = content_type.split(";")[0].strip() or "no content type"
            raise RTServerError(
                f"RT at {self.base} answered {path} with {kind} (HTTP {status}), not REST2 JSON: "
                "is --url the address of RT 5?"
            )
        if status >= 400:
            message = parsed.get("message") if isinstance(parsed, dict) else None
            raise RTServerError(
                f"RT at {self.base} answered {path} with HTTP {status}"
                + (f": {_shown(str(message))}" if message else "")
            )
        return parsed

    def pages(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of a REST2 collection, page after page (``page``/``per_page``)."""
        page, empty = 1, 0
        previous: list[Any] = []
        while True:
            answer = self.call(method, path, {**(params or {}), "page": page, "per_page": PER_PAGE}, body)
            items = answer.get("items") if isinstance(answer, dict) else None
            if not isinstance(items, list):
                raise RTServerError(f"RT at {self.base} answered {path} without a list of items")
            ids = [item.get("id") for item in items if isinstance(item, dict)]
            if page > 1 and ids and ids == previous:  # a server that never runs out would loop forever
                raise RTServerError(f"RT at {self.base} answered page {page} of {path} with page {page - 1} again")
            previous = ids
            empty = 0 if items else empty + 1
            if empty > MAX_EMPTY_PAGES:  # "more follow" after nothing, again and again
                raise RTServerError(f"RT at {self.base} answered {empty} empty pages of {path} in a row")
            for item in items:
                if isinstance(item, dict):
                    yield item
            if not _more_pages(answer, page, len(items)):
                return
            if page >= MAX_PAGES:
                raise RTServerError(f"RT at {self.base} promised more than {MAX_PAGES} pages of {path}")
            page += 1

    def part_content(self, attachment_id: int) -> bytes | None:
        """A part's bytes, or ``None`` when RT's answer is larger than the limit (then it is
        named on its message, not stored)."""
        path = f"/attachment/{attachment_id}"
        status, content_type, data = self._send("GET", path, {}, None, MAX_PART_ANSWER_BYTES)
        if status == -1:
            return None
        answer = self._parse(path, status, content_type, data)
        content = answer.get("Content") if isinstance(answer, dict) else None
        try:
            return base64.b64decode(content or "", validate=False)
        except (ValueError, TypeError) as error:
            raise RTServerError(
                f"RT at {self.base} answered {path} with content that is not base64 ({error})"
            ) from None


class _AskedPrivileged:
    """Whether an RT user is privileged, asked of RT user by user (``/user/N``'s ``Privileged``)
    and remembered: for an RT whose REST2 no longer shows the ``Privileged`` system group. The
    mapping asks only about the owners and authors of the imported tickets' transactions, so
    customers who never wrote are never asked about. Only ``1`` (or ``true``) counts as
    privileged; anything else RT answers (a string, a list) is a customer."""

    def __init__(self, client: RTClient) -> None:
        self.client = client
        self.known: dict[int, bool] = {}

    def __contains__(self, user_id: object) -> bool:
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            return False
        if user_id not in self.known:
            answer = self.client.call("GET", f"/user/{user_id}")
            flag = answer.get("Privileged") if isinstance(answer, dict) else None
            self.known[user_id] = flag is True or (type(flag) is int and flag == 1) or flag == "1"
        return self.known[user_id]


def _more_pages(answer: dict[str, Any], page: int, count: int) -> bool:
    """Whether a page ``page`` of ``count`` items has pages after it. RT says so (``pages`` when it
    counts, ``next_page`` when more follow): a short page is not the last when RT checks some
    rights in code (the items the agent may not see are left out of a page, even all of them).
    Only a server that says neither ends at its first short page."""
    pages = answer.get("pages")
    if isinstance(pages, int) and not isinstance(pages, bool):
        return page < pages
    if "next_page" in answer or "pages" in answer:
        return bool(answer.get("next_page"))
    return count >= PER_PAGE


def _ref(value: Any) -> int:
    """An id RT gives as ``{"id": 31, ...}`` (an expanded object) or as ``"31"``."""
    if isinstance(value, dict):
        value = value.get("id")
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _time(value: Any) -> str:
    """REST2's ``2026-01-02T03:04:05Z`` as RT's database writes it (``2026-01-02 03:04:05``)."""
    text = str(value or "")
    return text.replace("T", " ").removesuffix("Z")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


class RestSource:
    """RT's objects read over REST2: the :class:`~supportdesk.domain.request_tracker.Source`
    the database reader also is.

    RT checks the credentials of every request (bcrypt, a third of a second at RT's default
    cost), so requests are what an import costs: the transactions, parts and contents of
    :data:`BATCH` tickets are read with a few searches each, not one request per object."""

    def __init__(self, client: RTClient) -> None:
        self.client = client
        self._order: list[int] = []
        self._requestors: dict[int, list[int]] = {}
        self._custom: dict[int, list[tuple[str, str]]] = {}
        self._transactions: dict[int, list[TransactionRow]] = {}
        self._parts: dict[int, list[_Part]] = {}

    def count(self) -> int | None:
        """How many tickets the import will read (``None`` when RT does not say)."""
        answer = self.client.call("GET", "/tickets", {"query": TICKETS_QUERY, "per_page": 1})
        total = answer.get("total") if isinstance(answer, dict) else None
        return int(total) if isinstance(total, int | str) and str(total).isdigit() else None

    def load(self) -> RTDatabase:
        rt = RTDatabase()
        users = self.client.pages(
            "GET", "/users", {"fields": "id,Name,EmailAddress,RealName,Organization,Lang", "find_disabled_rows": 1}
        )
        for user in users:
            rt.users[_ref(user)] = {
                "name": _text(user.get("Name")),
                "email": _text(user.get("EmailAddress")).strip(),
                "real_name": _text(user.get("RealName")),
                "organization": _text(user.get("Organization")),
                "lang": _text(user.get("Lang")),
            }
        privileged = [
            _ref(group)
            for group in self.client.pages(
                "POST",
                "/groups",
                body=[{"field": "Domain", "value": "SystemInternal"}, {"field": "Name", "value": "Privileged"}],
            )
        ]
        for group_id in privileged[:1]:
            members = self.client.pages("GET", f"/group/{group_id}/members")
            rt.privileged = {_ref(member) for member in members if member.get("type") == "user"}
        if not privileged:
            rt.privileged = _AskedPrivileged(self.client)
        queues = self.client.pages(
            "GET", "/queues/all", {"fields": "Name,CorrespondAddress,Created", "find_disabled_rows": 1}
        )
        for queue in queues:
            queue_id = _ref(queue)
            rt.queues[queue_id] = {
                "name": _text(queue.get("Name")) or f"RT queue {queue_id}",
                "email": _text(queue.get("CorrespondAddress")) or None,
                "created": _time(queue.get("Created")),
            }
        return rt

    def tickets(self) -> list[TicketRow]:
        params = {
            "query": TICKETS_QUERY,
            "orderby": "id",
            "fields": TICKET_FIELDS,
            **{f"fields[{name}]": "id" for name in ("Queue", "Owner", "Creator", "Requestor")},
        }
        rows: list[TicketRow] = []
        for ticket in self.client.pages("GET", "/tickets", params):
            ticket_id = _ref(ticket)
            requestors = ticket.get("Requestor") or []
            self._requestors[ticket_id] = [
                _ref(r) for r in requestors if isinstance(r, dict) and r.get("type") == "user"
            ]
            self._custom[ticket_id] = [
                (_text(field.get("name")), _text(value.get("filename") if isinstance(value, dict) else value))
                for field in ticket.get("CustomFields") or []
                if isinstance(field, dict)
                for value in field.get("values") or []
                if value not in (None, "")
            ]
            rows.append(
                (
                    ticket_id,
                    _ref(ticket.get("EffectiveId")) or ticket_id,
                    _ref(ticket.get("Queue")),
                    _ref(ticket.get("Owner")),
                    _text(ticket.get("Subject")),
                    _text(ticket.get("Status")),
                    _ref(ticket.get("Priority")),
                    _time(ticket.get("Resolved")),
                    _time(ticket.get("LastUpdated")),
                    _time(ticket.get("Created")),
                    _ref(ticket.get("Creator")),
                )
            )
        self._order = [row[0] for row in rows]
        return rows

    def requestors(self, ticket_id: int) -> list[int]:
        return self._requestors.get(ticket_id, [])

    def custom_values(self, ticket_id: int) -> list[tuple[str, str]]:
        return self._custom.get(ticket_id, [])

    def transactions(self, ticket_id: int) -> list[TransactionRow]:
        if ticket_id not in self._transactions:
            self._transactions.clear()
            self._parts.clear()
            at = self._order.index(ticket_id) if ticket_id in self._order else 0
            batch = self._order[at : at + BATCH] if ticket_id in self._order else [ticket_id]
            self._read_batch(batch)
        return self._transactions.get(ticket_id, [])

    def parts(self, transaction_ids: list[int]) -> dict[int, list[_Part]]:
        return {transaction_id: self._parts.get(transaction_id, []) for transaction_id in transaction_ids}

    # --- a batch of tickets ------------------------------------------------------------

    def _read_batch(self, ticket_ids: list[int]) -> None:
        """The messages' transactions, their parts and the parts' contents for these tickets."""
        for ticket_id in ticket_ids:
            self._transactions[ticket_id] = []
        query = [
            {"field": "ObjectType", "value": "RT::Ticket"},
            {"field": "ObjectId", "operator": "IN", "value": ticket_ids},
            {"field": "Type", "operator": "IN", "value": [*MESSAGE_TYPES, *CHANGE_TYPES]},
        ]
        params = {
            "orderby": "id",
            "fields": "ObjectId,Type,Creator,Created,Field,OldValue,NewValue",
            "fields[Creator]": "id",
        }
        for item in self.client.pages("POST", "/transactions", params, query):
            ticket_id, kind, changed = _ref(item.get("ObjectId")), _text(item.get("Type")), _text(item.get("Field"))
            if ticket_id not in self._transactions:
                continue  # only what was asked for
            if kind in MESSAGE_TYPES or (kind in CHANGE_TYPES and changed in CHANGE_FIELDS):
                row = (
                    _ref(item),
                    kind,
                    _ref(item.get("Creator")),
                    _time(item.get("Created")),
                    "" if kind in MESSAGE_TYPES else changed,
                    "" if kind in MESSAGE_TYPES else _text(item.get("OldValue")),
                    "" if kind in MESSAGE_TYPES else _text(item.get("NewValue")),
                )
                self._transactions[ticket_id].append(row)
        transaction_ids = [row[0] for rows in self._transactions.values() for row in rows if row[1] in MESSAGE_TYPES]
        wanted: list[_Part] = []
        params = {"orderby": "id", "fields": "TransactionId,ContentType,Filename,Headers,ContentLength"}
        for start in range(0, len(transaction_ids), PER_PAGE):
            ids = transaction_ids[start : start + PER_PAGE]
            self._parts.update({transaction_id: [] for transaction_id in ids})
            query = [{"field": "TransactionId", "operator": "IN", "value": ids}]
            for item in self.client.pages("POST", "/attachments", params, query):
                transaction_id = _ref(item.get("TransactionId"))
                if transaction_id not in self._parts:
                    continue
                part = _Part(
                    _ref(item),
                    0,
                    _text(item.get("ContentType")).lower(),
                    _text(item.get("Filename")),
                    b"",
                    _text(item.get("Headers")),
                    _ref(item.get("ContentLength")),
                )
                self._parts[transaction_id].append(part)
                if (part.filename or part.content_type in ("text/plain", "text/html")) and part.size <= MAX_PART_BYTES:
                    wanted.append(part)
        self._read_contents(wanted)

    def _read_contents(self, parts: list[_Part]) -> None:
        """The bytes of these parts: small ones many to a search, a large one on its own."""
        batch: list[_Part] = []
        budget = 0
        for part in parts:
            if part.size > CONTENT_BUDGET:
                self._read_one(part)
                continue
            if len(batch) >= PER_PAGE or budget + part.size > CONTENT_BUDGET:
                self._read_many(batch)
                batch, budget = [], 0
            batch.append(part)
            budget += part.size
        if batch:
            self._read_many(batch)

    def _read_one(self, part: _Part) -> None:
        content = self.client.part_content(part.id)
        if content is None:  # RT sent more than the limit, whatever it said before
            part.size = max(part.size, MAX_PART_BYTES + 1)
        else:
            part.data, part.size = content, len(content)

    def _read_many(self, parts: list[_Part]) -> None:
        by_id = {part.id: part for part in parts}
        query = [{"field": "id", "operator": "IN", "value": list(by_id)}]
        for item in self.client.pages("POST", "/attachments", {"fields": "Content"}, query):
            part = by_id.pop(_ref(item), None)
            if part is None:
                continue
            part.data = _content_bytes(item.get("Content"), part.content_type)
            part.size = len(part.data)
        for part in by_id.values():  # RT left it out of the search: ask for it alone
            self._read_one(part)


def _content_bytes(content: Any, content_type: str) -> bytes:
    """A part's bytes from a search answer's ``Content``: RT gives textual parts (text/plain,
    text/html, message/rfc822) as text and others as their bytes, one character each."""
    text = _text(content)
    if re.match(r"(?:text/(?:plain|html)|message/rfc822)\b", content_type):
        return text.encode("utf-8", "surrogatepass")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def records(client: RTClient, store: StoreBytes | None = None) -> Iterator[dict[str, Any]]:
    """One supportdesk export record per RT ticket read over REST2 (the database reader's mapping)."""
    yield from mapped(RestSource(client), store)
