"""Build a deterministic, realistic demo workspace — 10,000 tickets by default, 1M for benchmarks.

Rows go in with ``executemany`` on one raw sqlite3 connection, in chunks, with the secondary
indexes and full-text triggers dropped (``store.bulk``); both are built in one pass at the end.
(ORM objects one by one manage ~9k rows/s, Core ~90k, raw sqlite3 ~400k.) From
:data:`PIPELINE_FROM` tickets the rows are made in two forked processes, one per random stream,
while this one inserts them (``DemoBuilder._tickets``, :mod:`supportdesk.demo.forked`). The same
seed and the same anchor time give the same workspace, byte for byte. The anchor defaults to the
fixed :data:`DEMO_EPOCH`, never the wall clock: the business-hours SLA clocks (and so breaches,
and so the surveys drawn from them) depend on the weekday and hour the history lands on, so a
demo built "up to now" differed from hour to hour. The workspace keeps ``demo_clock`` (see
``store.times``) so whoever opens it sees the demo as of that instant, ageing as real time
passes.

The demo writes what ingest would have stored: every customer text goes through
``sanitize_text`` like a real inbound message, so the hostile tickets show what the console
must display literally (markup) next to what ingest already neutralised (escape sequences).
"""

from __future__ import annotations

import json
import os
import pickle
import random
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import gmtime

from supportdesk.demo import content, forked, service_levels
from supportdesk.domain import timing
from supportdesk.domain.text_safety import sanitize_line, sanitize_text
from supportdesk.store import times
from supportdesk.store.bulk import BULK_TABLES, bulk_load
from supportdesk.store.ids import uuid7_at
from supportdesk.store.workspace import Workspace

Progress = Callable[[str, int, int], None]

CHANNEL_WEIGHTS = (("email", 55), ("chat", 18), ("web", 14), ("phone", 8), ("social", 5))
PRIORITY_WEIGHTS = {"low": 20, "normal": 60, "high": 15, "urgent": 5}
CHUNK = 5_000
#: From this many tickets the rows are made in a forked process while this one inserts them.
PIPELINE_FROM = 20_000
#: Tickets per batch between the processes: small, so the three start and finish nearly together
#: (5,000 left the inserting process waiting for most of a 20k build); ~1 MB pickled.
PIPELINE_CHUNK = 500
CLEAN_CACHE = 200_000
BREACH_AT = timing.TIMING_COLUMNS.index("breach_at")
#: The instant every demo is built up to unless ``--now`` says otherwise (a Wednesday noon, UTC).
DEMO_EPOCH = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@dataclass
class DemoSummary:
    tickets: int = 0
    messages: int = 0
    customers: int = 0
    agents: int = 0
    macros: int = 0
    articles: int = 0
    views: int = 0
    hostile_tickets: list[int] = field(default_factory=list)


#: A ticket's inputs to the service stream: id, created ms, its turns (without bodies), status,
#: solved and closed ms, assignee, priority, channel, group.
_ServiceInput = tuple[
    str, int, list[tuple[int, str, str, str | None, str, int]], str, int | None, int | None, str | None, str, str, str
]


@dataclass
class _Batch:
    """A chunk of tickets' rows (a list per table, inserted in this order: the rowids follow it),
    made by the main stream and completed by the service stream from ``service``."""

    number: int = 0  # tickets made so far
    tickets: list[tuple[object, ...]] = field(default_factory=list)
    messages: list[tuple[object, ...]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    audits: list[tuple[object, ...]] = field(default_factory=list)
    seen: list[tuple[str, str]] = field(default_factory=list)
    timings: list[tuple[object, ...]] = field(default_factory=list)
    handle: list[tuple[object, ...]] = field(default_factory=list)
    surveys: list[tuple[object, ...]] = field(default_factory=list)
    survey_messages: list[tuple[object, ...]] = field(default_factory=list)
    service: list[_ServiceInput] = field(default_factory=list)
    #: the main stream's four lists pickled once by the process that made them, so the service
    #: stream's process passes them on as bytes instead of unpickling and pickling them again
    packed: bytes = b""

    def pack(self) -> _Batch:
        self.packed = pickle.dumps((self.tickets, self.messages, self.tags, self.seen), pickle.HIGHEST_PROTOCOL)
        self.tickets, self.messages, self.tags, self.seen = [], [], [], []
        return self

    def unpack(self) -> _Batch:
        if self.packed:
            self.tickets, self.messages, self.tags, self.seen = pickle.loads(
                self.packed
            )  # bytes our own grandchild pickled
            self.packed = b""
        return self


_INSERT_MESSAGE = (
    "INSERT INTO message (id, ticket_id, channel, direction, public, author_kind, author_agent_id, "
    "author_customer_id, body, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_DAYS: dict[int, str] = {}


def _day(day: int) -> str:
    """``YYYY-MM-DD`` of a day number since the epoch, computed once per day."""
    text = _DAYS.get(day)
    if text is None:
        t = gmtime(day * 86_400)
        text = _DAYS[day] = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
    return text


def _db_time(ms: int) -> str:
    """``to_db`` for epoch milliseconds, without building datetimes (it runs tens of millions of
    times at 1M tickets: the date part comes from a table of days, the rest is arithmetic)."""
    day, rest = divmod(ms, 86_400_000)
    seconds, milli = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{_day(day)} {hour:02d}:{minute:02d}:{second:02d}.{milli:03d}000"


def _iso(ms: int) -> str:
    """``datetime.isoformat()`` of epoch milliseconds in UTC (no fraction when it is zero)."""
    day, rest = divmod(ms, 86_400_000)
    seconds, milli = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    fraction = f".{milli:03d}000" if milli else ""
    return f"{_day(day)}T{hour:02d}:{minute:02d}:{second:02d}{fraction}+00:00"


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def at(self, ms: int) -> str:
        return uuid7_at(ms, self.rng.getrandbits(74))


@dataclass
class _People:
    groups: list[tuple[str, str]]  # (id, name)
    agents: list[tuple[str, str, str, tuple[str, ...]]]  # id, name, role, group names
    agents_by_group: dict[str, list[str]]
    customers: list[tuple[str, str, str]]  # id, name, email
    me: str


class DemoBuilder:
    def __init__(
        self,
        workspace: Workspace,
        *,
        tickets: int = 10_000,
        seed: int = 7,
        now: datetime | None = None,
        progress: Progress | None = None,
        pipeline: bool | None = None,
    ) -> None:
        self.workspace = workspace
        #: make the ticket rows in a forked process (None: from PIPELINE_FROM tickets, with 2+ cores)
        self.pipeline = pipeline
        self.ticket_count = tickets
        self.rng = random.Random(seed)
        # SLA history, surveys and handle time draw from their own stream, so adding them left
        # every ticket, message and customer of a given seed as it was
        self.service_rng = random.Random(seed * 7919 + 1)
        self.service_ids = _Ids(self.service_rng)
        self.ids = _Ids(self.rng)
        self.anchor = now or DEMO_EPOCH
        self.seed = seed
        self.now_ms = int(self.anchor.timestamp() * 1000)
        self.progress = progress or (lambda _stage, _done, _total: None)
        self.summary = DemoSummary()
        self.span_days = 180 if tickets <= 100_000 else 730

    # --- entry point ----------------------------------------------------------------------

    def build(self) -> DemoSummary:
        # the engine's pooled connections (migrations) would keep the journal mode from changing
        self.workspace.close()
        connection = self.workspace.connect()
        # Settings for this one bulk transaction into an empty workspace (see _load_settings).
        journal = str(connection.execute("PRAGMA journal_mode").fetchone()[0])
        try:
            _load_settings(connection)
            connection.execute("BEGIN IMMEDIATE")
            with bulk_load(connection, (*BULK_TABLES, "ticket_timing", "handle_time", "survey")):
                people = self._people(connection)
                self.book = service_levels.insert_service_levels(
                    connection,
                    lambda: self.service_ids.at(self.now_ms),
                    {name: gid for gid, name in people.groups},
                    _db_time(self.now_ms - (self.span_days + 30) * 86_400_000),
                )
                self._library(connection, people)
                self._views(connection, people)
                self._tickets(connection, people)
                self._hostile(connection, people)
                connection.execute(
                    "UPDATE counter SET value = (SELECT coalesce(max(number), 0) FROM ticket) "
                    "WHERE name = 'ticket_number'"
                )
                connection.execute(
                    "INSERT OR REPLACE INTO workspace_setting(key, value) VALUES ('me', ?)",
                    (json.dumps(people.me),),
                )
                connection.execute(
                    "INSERT OR REPLACE INTO workspace_setting(key, value) VALUES ('demo', ?)",
                    (json.dumps({"tickets": self.ticket_count, "seed": self.seed, "now": times.iso(self.anchor)}),),
                )
                # not content: when it was built, so the demo's clock ages from there (store.times)
                connection.execute(
                    "INSERT OR REPLACE INTO workspace_setting(key, value) VALUES ('demo_clock', ?)",
                    (json.dumps(times.reading_now(self.anchor)),),
                )
                self.progress("indexing", 0, 1)
            self.progress("indexing", 1, 1)
            # after the indexes are back: merges look messages up by ticket, and the live FTS
            # triggers keep the moved messages searchable under their new ticket
            self._relations(connection)
            self._retime_the_rest(connection)
            connection.execute("COMMIT")
            connection.execute("PRAGMA optimize")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        finally:
            try:
                # A reader that opened the workspace meanwhile keeps the mode from changing; the
                # build is committed by then, and the workspace's next connection sets WAL again
                # (store.engine), so that is no reason to report a finished build as failed.
                with suppress(sqlite3.OperationalError):
                    connection.execute(f"PRAGMA journal_mode={journal}")
            finally:
                connection.close()
        return self.summary

    # --- people ---------------------------------------------------------------------------

    def _people(self, connection: sqlite3.Connection) -> _People:
        rng = self.rng
        start_ms = self.now_ms - (self.span_days + 30) * 86_400_000
        created = _db_time(start_ms)
        groups = [(self.ids.at(start_ms), name) for name, _email, _desc in content.GROUPS]
        connection.executemany(
            "INSERT INTO groups (id, name, email, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (gid, name, email, desc, created, created)
                for (gid, name), (_n, email, desc) in zip(groups, content.GROUPS, strict=True)
            ],
        )
        group_ids = {name: gid for gid, name in groups}
        agents = []
        for name, role, group_names in content.AGENTS:
            agent_id = self.ids.at(start_ms)
            agents.append((agent_id, name, role, group_names))
        connection.executemany(
            "INSERT INTO agent (id, name, email, role, active, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
            [(aid, name, _agent_email(name), role, created, created) for aid, name, role, _groups in agents],
        )
        connection.executemany(
            "INSERT INTO agent_group (agent_id, group_id) VALUES (?, ?)",
            [(aid, group_ids[g]) for aid, _n, _r, gs in agents for g in gs],
        )
        agents_by_group: dict[str, list[str]] = {gid: [] for gid, _ in groups}
        for aid, _name, role, group_names in agents:
            if role == "light_agent":
                continue
            for g in group_names:
                agents_by_group[group_ids[g]].append(aid)
        self.summary.agents = len(agents)

        org_count = max(20, self.ticket_count // 70)
        organizations = []
        seen_names: set[str] = set()
        for _ in range(org_count):
            base = f"{rng.choice(content.ORG_WORDS)} {rng.choice(content.ORG_SUFFIXES)}"
            name, suffix = base, 1
            while name in seen_names:
                suffix += 1
                name = f"{base} {suffix}"
            seen_names.add(name)
            slug = name.lower().replace(" ", "")
            organizations.append((self.ids.at(start_ms), name, f"{slug}.example"))
        connection.executemany(
            "INSERT INTO organization (id, name, domain, notes, created_at, updated_at) VALUES (?, ?, ?, '', ?, ?)",
            [(oid, name, domain, created, created) for oid, name, domain in organizations],
        )

        customer_count = max(50, min(self.ticket_count // 5, 200_000))
        customers: list[tuple[str, str, str]] = []
        customer_rows = []
        identity_rows = []
        used_emails: set[str] = set()
        for index in range(customer_count):
            first = rng.choice(content.FIRST_NAMES)
            last = rng.choice(content.LAST_NAMES)
            name = f"{first} {last}"
            org = rng.choice(organizations) if rng.random() < 0.6 else None
            domain = org[2] if org else rng.choice(("mail.example", "inbox.example", "post.example"))
            email = f"{first}.{last}{index}@{domain}".lower()
            used_emails.add(email)
            ms = start_ms + rng.randrange(0, 20 * 86_400_000)
            customer_id = self.ids.at(ms)
            when = _db_time(ms)
            customers.append((customer_id, name, email))
            customer_rows.append(
                (
                    customer_id,
                    name,
                    org[0] if org else None,
                    rng.choice(("en", "en", "de", "fr", "es")),
                    when,
                    when,
                )
            )
            identity_rows.append((self.ids.at(ms), customer_id, "email", email, 1, when))
            if rng.random() < 0.45:
                identity_rows.append(
                    (
                        self.ids.at(ms),
                        customer_id,
                        "phone",
                        f"+44{7000000000 + index * 7919 % 999999999}",
                        1,
                        when,
                    )
                )
            if rng.random() < 0.3:
                identity_rows.append((self.ids.at(ms), customer_id, "chat", f"{first}{last}{index}".lower(), 1, when))
            if rng.random() < 0.15:
                network = rng.choice(content.SOCIAL_NETWORKS)
                identity_rows.append(
                    (
                        self.ids.at(ms),
                        customer_id,
                        "social",
                        f"{network}:@{first}_{last}{index}".lower(),
                        1,
                        when,
                    )
                )
        connection.executemany(
            "INSERT INTO customer (id, name, organization_id, notes, locale, created_at, updated_at) "
            "VALUES (?, ?, ?, '', ?, ?, ?)",
            customer_rows,
        )
        connection.executemany(
            "INSERT INTO identity (id, customer_id, kind, value, is_primary, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            identity_rows,
        )
        self.summary.customers = customer_count
        me = next(aid for aid, name, _r, _g in agents if name == content.AGENTS[0][0])
        return _People(groups, agents, agents_by_group, customers, me)

    # --- macros, articles, views ----------------------------------------------------------

    def _library(self, connection: sqlite3.Connection, people: _People) -> None:
        created = _db_time(self.now_ms - self.span_days * 86_400_000)
        macro_rows = []
        for seed in content.MACROS:
            actions = [_action(f, v) for f, v in seed.actions]
            macro_rows.append(
                (
                    self.ids.at(self.now_ms),
                    seed.name,
                    seed.description,
                    json.dumps(actions),
                    seed.body,
                    int(seed.public),
                )
            )
        for theme in content.MACRO_EXTRA_TOPICS:
            for variant, (status, public) in enumerate((("pending", True), ("solved", True))):
                name = f"{theme.capitalize()}: {'first answer' if variant == 0 else 'resolved'}"
                body = (
                    "Hi {{ ticket.requester.first_name }},\n\n"
                    f"Thanks for contacting us about {theme}. "
                    + (
                        "Here is what to do next; let me know whether it works for you."
                        if variant == 0
                        else "This should now be resolved. Reply to this message if it happens again."
                    )
                    + "\n\n{{ agent.first_name }}"
                )
                tag = theme.replace(" ", "_").replace("-", "_").lower()
                actions = [_action("status", status), _action("add_tags", tag)]
                macro_rows.append(
                    (
                        self.ids.at(self.now_ms),
                        name,
                        f"Answer about {theme}",
                        json.dumps(actions),
                        body,
                        int(public),
                    )
                )
        connection.executemany(
            "INSERT INTO macro (id, name, description, actions, body, public, active, created_at, updated_at) "
            f"VALUES (?, ?, ?, ?, ?, ?, 1, '{created}', '{created}')",
            macro_rows,
        )
        self.summary.macros = len(macro_rows)

        articles = []
        slugs: set[str] = set()
        topic_texts = {t.key: t for t in content.TOPICS}
        sections = {section[1]: section for section in content.ARTICLE_SECTIONS}
        for index in range(150):
            base = content.ARTICLE_TITLES[index % len(content.ARTICLE_TITLES)]
            round_ = index // len(content.ARTICLE_TITLES)
            about = content.ARTICLE_ABOUT[base]
            section = sections[about.section]
            title = base if round_ == 0 else f"{base} ({('admins', 'owners', 'mobile users', 'API users')[round_ - 1]})"
            slug = _slugify(title)
            while slug in slugs:
                slug += "-2"
            slugs.add(slug)
            # The random draws stay those of the earlier generator (one shuffle of the answers of
            # the topic at this position), so the tickets built after the articles do not change.
            drawn = list(topic_texts.values())[index % len(content.TOPICS)]
            order = self.rng.sample(range(len(drawn.answers)), len(drawn.answers))
            topic = topic_texts.get(about.topic)
            body = _article_body(title, section, about.lead, topic, order)
            locale = "en" if index % 10 else "de"
            articles.append(
                (
                    self.ids.at(self.now_ms),
                    slug,
                    title,
                    body,
                    ",".join((section[1], *(topic.tags[:2] if topic else ()))),
                    locale,
                    created,
                    created,
                )
            )
        connection.executemany(
            "INSERT INTO kb_article (id, slug, title, body, tags, locale, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            articles,
        )
        self.summary.articles = len(articles)

    def _views(self, connection: sqlite3.Connection, people: _People) -> None:
        created = _db_time(self.now_ms - self.span_days * 86_400_000)
        shared = [
            ("My open", "assignee:me status<solved", "updated-desc"),
            ("Unassigned", "assignee:none status<solved", "created-asc"),
            ("All open", "status<solved", "updated-desc"),
            ("Pending", "status:pending", "updated-desc"),
            ("Solved today", "status:solved solved:today", "updated-desc"),
            ("Urgent and high", "priority>=high status<solved", "priority-desc"),
        ]
        shared += [(name, f'group:"{name.lower()}" status<solved', "updated-desc") for _gid, name in people.groups]
        rows: list[tuple[object, ...]] = [
            (self.ids.at(self.now_ms), n, q, s, None, i, created, created) for i, (n, q, s) in enumerate(shared)
        ]
        personal = [
            ("My refunds", "tag:refund assignee:me", "updated-desc"),
            ("Waiting on customer > 3 days", "status:pending updated>3d", "updated-asc"),
        ]
        rows += [
            (self.ids.at(self.now_ms), n, q, s, people.me, i, created, created) for i, (n, q, s) in enumerate(personal)
        ]
        connection.executemany(
            "INSERT INTO saved_view (id, name, query, sort, owner_id, position, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        self.summary.views = len(rows)

    # --- tickets --------------------------------------------------------------------------

    def _creation_times(self) -> Iterator[int]:
        """Ticket creation times, oldest first, denser towards now (a growing business)."""
        span = self.span_days * 86_400_000
        rng = self.rng
        points = sorted(int(span * (rng.random() ** 0.7)) for _ in range(self.ticket_count))
        start = self.now_ms - span
        for offset in points:
            yield start + offset

    def _tickets(self, connection: sqlite3.Connection, people: _People) -> None:
        """Make the tickets and insert them, chunk by chunk: in a forked child that makes the rows
        while this process inserts the previous chunk (:mod:`supportdesk.demo.forked`), or here,
        one after the other, for small demos or where there is no ``fork``. The same rows in the
        same order either way: a grandchild makes the main stream's rows (tickets, messages, tags,
        seen marks), the child the service stream's (audit time-line, SLA timing, handle time,
        surveys) — each stream drawn in ticket order by one process — and this one inserts them."""
        total = self.ticket_count
        if not self._in_a_process():
            for batch in self._ticket_batches(people, CHUNK):
                self._insert(connection, self._with_service_rows(batch))
                self.progress("tickets", batch.number, total)
            return
        batches = forked.forked(
            lambda: self._completed_batches(people), lambda: (self.rng.getstate(), self.service_rng.getstate())
        )
        with closing(batches):
            try:
                while True:
                    batch = next(batches).unpack()
                    self._insert(connection, batch)
                    self.progress("tickets", batch.number, total)
            except StopIteration as end:
                # the children drew the streams to their end: go on from where they left them
                main, service = end.value
                self.rng.setstate(main)
                self.service_rng.setstate(service)

    def _completed_batches(self, people: _People) -> Iterator[_Batch]:
        """In the first child: the main stream's batches, made in a child of its own, completed
        with the service stream's rows. Three processes, each on its own work: at 100k tickets
        the main stream took ~14 s of CPU, the service stream ~28 s, unpickling and inserting
        ~15 s."""
        made = forked.forked(lambda: map(_Batch.pack, self._ticket_batches(people, PIPELINE_CHUNK)), self.rng.getstate)
        with closing(made):
            while True:
                try:
                    batch = next(made)
                except StopIteration as end:
                    self.rng.setstate(end.value)
                    return
                yield self._with_service_rows(batch)

    def _in_a_process(self) -> bool:
        if self.pipeline is not None:
            return self.pipeline and forked.available()
        return self.ticket_count >= PIPELINE_FROM and forked.available() and (os.cpu_count() or 1) > 1

    def _ticket_batches(self, people: _People, chunk: int) -> Iterator[_Batch]:
        """The main stream: every ticket's row, conversation, tags and seen mark, and what the
        service stream needs of it (:class:`_ServiceInput`), in batches of ``chunk`` tickets."""
        rng = self.rng
        channels = [c for c, w in CHANNEL_WEIGHTS for _ in range(w)]
        priorities = [p for p, w in PRIORITY_WEIGHTS.items() for _ in range(w)]
        group_ids = {name: gid for gid, name in people.groups}
        agent_names = {aid: name for aid, name, _r, _g in people.agents}
        batch = _Batch()
        tickets, messages, tags, seen, service = batch.tickets, batch.messages, batch.tags, batch.seen, batch.service
        # the bodies repeat (a topic's lines, a greeting, a first name): sanitize each one once
        clean: dict[str, str] = {}
        number = 0
        for created_ms in self._creation_times():
            number += 1
            topic = rng.choice(content.TOPICS)
            customer_id, customer_name, _email = rng.choice(people.customers)
            first = customer_name.split()[0]
            channel = rng.choice(channels)
            ticket_id = self.ids.at(created_ms)
            vip = rng.random() < 0.05
            if vip:
                group_id = group_ids["VIP"]
            else:
                group_id = group_ids[topic.group] if rng.random() < 0.85 else group_ids["Tier 1"]
            candidates = people.agents_by_group[group_id]
            age_days = (self.now_ms - created_ms) / 86_400_000
            status = _status_for_age(age_days, rng)
            assignee = rng.choice(candidates) if candidates and (status != "new" or rng.random() < 0.1) else None
            priority = topic.priority_bias if rng.random() < 0.5 else rng.choice(priorities)
            subject = rng.choice(topic.subjects)
            if channel == "chat":
                subject = f"Chat with {customer_name}"
            elif channel == "phone":
                subject = f"Call: {subject.lower()}"
            elif channel == "social":
                subject = f"{subject} (via social)"
            fields_json = "{}"
            if channel == "web":
                fields_json = json.dumps(
                    {
                        "product_area": topic.key,
                        "plan": rng.choice(("Free", "Team", "Business", "Enterprise")),
                    }
                )
            # the conversation
            t = created_ms
            turns = _conversation_length(rng)
            conversation: list[tuple[int, str, str, str | None, str, int]] = []
            # (ms, author_kind, body, author_agent, direction, public)
            opening = rng.choice(topic.openings)
            conversation.append((t, "customer", _customer_text(channel, first, opening, rng), None, "inbound", 1))
            first_response_ms = None
            replier = assignee or (rng.choice(candidates) if candidates else None)
            solved_ms = None
            for turn in range(1, turns):
                t += rng.randint(4, 600 if channel == "chat" else 2_400) * 60_000 // (20 if channel == "chat" else 1)
                if t >= self.now_ms:
                    break
                kind = turn % 2
                if rng.random() < 0.12 and replier:
                    conversation.append((t, "agent", rng.choice(topic.notes), replier, "outbound", 0))
                    continue
                if kind == 1 and replier:
                    body = _agent_text(channel, first, rng.choice(topic.answers), agent_names[replier], rng)
                    conversation.append((t, "agent", body, replier, "outbound", 1))
                    if first_response_ms is None:
                        first_response_ms = t
                else:
                    text = rng.choice(topic.follow_ups) if turn < turns - 1 else rng.choice(content.CUSTOMER_THANKS)
                    conversation.append(
                        (
                            t,
                            "customer",
                            _customer_text(channel, first, text, rng, short=True),
                            None,
                            "inbound",
                            1,
                        )
                    )
            last_ms = conversation[-1][0]
            if status in ("solved", "closed"):
                solved_ms = last_ms + rng.randint(1, 120) * 60_000
                solved_ms = min(solved_ms, self.now_ms - 60_000)
                last_ms = max(last_ms, solved_ms)
                if first_response_ms is None and replier:
                    first_response_ms = solved_ms
                    body = _agent_text(channel, first, rng.choice(topic.answers), agent_names[replier], rng)
                    conversation.append((solved_ms, "agent", body, replier, "outbound", 1))
                if assignee is None:
                    assignee = replier
            elif status in ("open", "pending", "on_hold") and assignee is None:
                assignee = replier
            if status == "new" and first_response_ms is not None:
                status = "open"
            updated_ms = last_ms
            tickets.append(
                (
                    ticket_id,
                    number,
                    sanitize_line(subject),
                    status,
                    priority,
                    _ticket_type(topic, rng),
                    channel,
                    group_id,
                    assignee,
                    customer_id,
                    fields_json,
                    _db_time(created_ms),
                    _db_time(updated_ms),
                    _db_time(first_response_ms) if first_response_ms else None,
                    _db_time(solved_ms) if solved_ms else None,
                )
            )
            for ms, author_kind, body, agent_id, direction, public in conversation:
                meta = _message_meta(channel, ms, rng)
                stored = clean.get(body)
                if stored is None:
                    stored = sanitize_text(body)
                    if len(clean) < CLEAN_CACHE:
                        clean[body] = stored
                messages.append(
                    (
                        self.ids.at(ms),
                        ticket_id,
                        "phone" if channel == "phone" and author_kind == "agent" and public == 0 else channel,
                        direction,
                        public,
                        author_kind,
                        agent_id,
                        customer_id if author_kind == "customer" else None,
                        stored,
                        meta,
                        _db_time(ms),
                    )
                )
            for tag in topic.tags:
                if rng.random() < 0.85:
                    tags.append((ticket_id, tag))
            if vip:
                tags.append((ticket_id, "vip"))
            closed_ms = min(solved_ms + 4 * 86_400_000, self.now_ms) if solved_ms and status == "closed" else None
            # the service stream reads no body: leave them out of what crosses the pipe
            turns_only = [
                (ms, kind, "", agent, direction, public) for ms, kind, _b, agent, direction, public in conversation
            ]
            service.append(
                (ticket_id, created_ms, turns_only, status, solved_ms, closed_ms, assignee, priority, channel, group_id)
            )
            if age_days > 1.5 or rng.random() < 0.5:
                seen.append((ticket_id, _db_time(updated_ms + 60_000)))
            if len(tickets) >= chunk:
                batch.number = number
                yield batch
                batch = _Batch()
                tickets, messages, tags, seen = batch.tickets, batch.messages, batch.tags, batch.seen
                service = batch.service
        batch.number = number
        yield batch

    def _with_service_rows(self, batch: _Batch) -> _Batch:
        """The service stream's rows of a batch's tickets: audit time-line, SLA timing, handle
        time, surveys and their answer messages (drawn from ``service_rng`` in ticket order)."""
        extras = _TicketExtras(self, batch)
        for (
            ticket_id,
            created_ms,
            turns,
            status,
            solved_ms,
            closed_ms,
            assignee,
            priority,
            channel,
            group_id,
        ) in batch.service:
            reopen = solved_ms is not None and self.service_rng.random() < 0.07
            line = service_levels.timeline(
                ticket_id, created_ms, turns, status, solved_ms, closed_ms, assignee, reopen, _db_time, _iso
            )
            batch.audits.extend(line.audits)
            done = _db_time(solved_ms) if solved_ms is not None and status in ("solved", "closed") else None
            dims = {
                "created_at": _db_time(created_ms),
                "solved_at": done,
                "done_at": done,
                "channel": channel,
                "group_id": group_id,
                "assignee_id": assignee,
            }
            extras.add(ticket_id, line.history, priority, dims, turns, solved_ms, channel)
        batch.service = []
        return batch

    def _insert(self, connection: sqlite3.Connection, batch: _Batch) -> None:
        """A batch's rows, table by table in the order the rowids of the demo were always given."""
        connection.executemany(
            "INSERT INTO ticket (id, number, subject, status, priority, type, channel, group_id, "
            "assignee_id, requester_id, fields, created_at, updated_at, first_response_at, solved_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch.tickets,
        )
        connection.executemany(_INSERT_MESSAGE, batch.messages)
        connection.executemany("INSERT INTO ticket_tag (ticket_id, tag) VALUES (?, ?)", batch.tags)
        connection.executemany(
            "INSERT INTO audit_event (at, actor_id, mutation, mutation_ref, entity, entity_id, field, before, after) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch.audits,
        )
        connection.executemany("INSERT INTO ticket_seen (ticket_id, seen_at) VALUES (?, ?)", batch.seen)
        connection.executemany(timing.INSERT_TIMING, batch.timings)
        connection.executemany(
            "INSERT INTO handle_time (id, ticket_id, agent_id, seconds, at) VALUES (?, ?, ?, ?, ?)", batch.handle
        )
        connection.executemany(
            "INSERT INTO survey (id, ticket_id, issued_at, answered_at, csat, comment, ces, nps, message_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch.surveys,
        )
        connection.executemany(_INSERT_MESSAGE, batch.survey_messages)
        self.summary.tickets = batch.number
        self.summary.messages += len(batch.messages) + len(batch.survey_messages)

    # --- hostile tickets and relations ----------------------------------------------------

    def _hostile(self, connection: sqlite3.Connection, people: _People) -> None:
        """Tickets whose text attacks the terminal; every screen must show them literally."""
        ms = self.now_ms - 3_600_000
        when = _db_time(ms)
        mallory = self.ids.at(ms)
        connection.execute(
            "INSERT INTO customer (id, name, notes, locale, created_at, updated_at) VALUES (?, ?, '', 'en', ?, ?)",
            (mallory, sanitize_line(content.HOSTILE_NAME), when, when),
        )
        connection.execute(
            "INSERT INTO identity (id, customer_id, kind, value, is_primary, created_at) "
            "VALUES (?, ?, 'email', ?, 1, ?)",
            (self.ids.at(ms), mallory, "mallory@evil.example", when),
        )
        number = connection.execute("SELECT coalesce(max(number), 0) FROM ticket").fetchone()[0]
        big_body = ("[bold red]A very long log paste[/] \x1b[31m" + "x" * 100 + "\n") * 40_000
        bodies = [
            "Hello [@click=app.quit]click me[/] and [link=https://evil.example]this[/link].",
            "Please see \x1b]52;c;aGVsbG8gd29ybGQ=\x07 and \x1b[2J\x1b[3J cleared?",
            "Bidi \u202eevil\u202c, zero width \u200b\u200c\u200d, C1 \x85\x9b and DEL \x7f.",
            "[bold]unclosed and [/] stray closers [/][/] and \\[escaped]",
            "OSC 8 \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ and bell \x07",
            big_body,
        ]
        subjects = [*content.HOSTILE_SUBJECTS]
        rows, message_rows = [], []
        for index, subject in enumerate(subjects):
            number += 1
            ticket_id = self.ids.at(ms + index)
            rows.append(
                (
                    ticket_id,
                    number,
                    sanitize_line(subject),
                    "new",
                    "high",
                    "question",
                    "email",
                    people.groups[0][0],
                    None,
                    mallory,
                    "{}",
                    when,
                    _db_time(ms + index),
                    None,
                    None,
                )
            )
            message_rows.append(
                (
                    self.ids.at(ms + index),
                    ticket_id,
                    "email",
                    "inbound",
                    1,
                    "customer",
                    None,
                    mallory,
                    sanitize_text(bodies[index % len(bodies)]),
                    json.dumps({"from": "mallory@evil.example"}),
                    _db_time(ms + index),
                )
            )
            self.summary.hostile_tickets.append(number)
        connection.executemany(
            "INSERT INTO ticket (id, number, subject, status, priority, type, channel, group_id, "
            "assignee_id, requester_id, fields, created_at, updated_at, first_response_at, solved_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        connection.executemany(
            "INSERT INTO message (id, ticket_id, channel, direction, public, author_kind, "
            "author_agent_id, author_customer_id, body, meta, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            message_rows,
        )
        connection.execute("INSERT INTO ticket_tag (ticket_id, tag) VALUES (?, 'security')", (rows[0][0],))
        connection.executemany(
            "INSERT INTO audit_event (at, actor_id, mutation, mutation_ref, entity, entity_id, field, before, after) "
            "VALUES (?, NULL, 'ticket.create', 'demo', 'ticket', ?, ?, NULL, ?)",
            [
                (row[12], row[0], name, json.dumps(row[0]))
                for row in rows
                for name in ("ticket.created", "message.inbound")
            ],
        )
        self.summary.tickets += len(rows)
        self.summary.messages += len(message_rows)

    def _relations(self, connection: sqlite3.Connection) -> None:
        """Problem tickets with linked incidents, and a few merged duplicates."""
        rng = self.rng
        incidents = [
            r[0]
            for r in connection.execute(
                "SELECT id FROM ticket WHERE type = 'incident' AND status <> 'closed' ORDER BY number DESC LIMIT 400"
            )
        ]
        problems = incidents[:3]
        if problems:
            connection.executemany("UPDATE ticket SET type = 'problem' WHERE id = ?", [(p,) for p in problems])
            links = [(rng.choice(problems), i) for i in incidents[3:60]]
            connection.executemany("UPDATE ticket SET problem_id = ? WHERE id = ?", links)
        candidates = [
            r
            for r in connection.execute(
                "SELECT id, requester_id, number FROM ticket WHERE status IN ('open', 'pending') AND type <> 'problem' "
                "ORDER BY number DESC LIMIT 2000"
            )
        ]
        by_requester: dict[str, list[tuple[str, int]]] = {}
        for ticket_id, requester, number in candidates:
            by_requester.setdefault(requester, []).append((ticket_id, number))
        merges = 0
        for _requester, owned in by_requester.items():
            if len(owned) < 2 or merges >= max(3, self.ticket_count // 1000):
                continue
            (target, target_number), (source, source_number) = owned[0], owned[1]
            connection.execute("UPDATE message SET ticket_id = ? WHERE ticket_id = ?", (target, source))
            before = connection.execute("SELECT status FROM ticket WHERE id = ?", (source,)).fetchone()[0]
            connection.execute(
                "UPDATE ticket SET status = 'closed', merged_into_id = ? WHERE id = ?",
                (target, source),
            )
            when = _db_time(self.now_ms - 7_200_000)
            connection.execute(
                "INSERT INTO audit_event (at, mutation, mutation_ref, entity, entity_id, field, before, after) "
                "VALUES (?, 'ticket.merge', 'demo', 'ticket', ?, 'status', ?, '\"closed\"')",
                (when, source, json.dumps(before)),
            )
            connection.executemany(
                "INSERT INTO message (id, ticket_id, channel, direction, public, author_kind, author_agent_id, "
                "author_customer_id, body, meta, created_at) "
                "VALUES (?, ?, 'email', 'outbound', 0, 'agent', NULL, NULL, ?, '{}', ?)",
                [
                    (
                        self.ids.at(self.now_ms),
                        target,
                        f"Ticket #{source_number} was merged into this ticket.",
                        when,
                    ),
                    (
                        self.ids.at(self.now_ms),
                        source,
                        f"This ticket was merged into ticket #{target_number}.",
                        when,
                    ),
                ],
            )
            merges += 1

    def _retime_the_rest(self, connection: sqlite3.Connection) -> None:
        """Timing rows for the tickets made or changed after the main loop (hostile, merged)."""
        stale = [
            r[0]
            for r in connection.execute(
                "SELECT id FROM ticket WHERE merged_into_id IS NOT NULL "
                "OR id NOT IN (SELECT ticket_id FROM ticket_timing)"
            )
        ]
        timing.rebuild(connection, ticket_ids=stale)


def _load_settings(connection: sqlite3.Connection) -> None:
    """Pragmas for the build's one transaction, outside it (some are no-ops inside one).

    - A rollback journal instead of the WAL: a page written to the WAL is written again to the
      database at the checkpoint, so the whole multi-GB build went through the disk twice. A
      rollback journal keeps only the pages the transaction changes that existed before it —
      those of an empty workspace — and still rolls back on failure or crash. ``build`` sets
      the workspace's journal mode (WAL) back when it is done. When another connection has the
      workspace open the mode cannot change; the build then runs in WAL as before.
    - No fsync (``synchronous=OFF``): a demo that a power cut interrupts is built again.
    - Foreign keys unchecked: every insert probed its parents' primary keys; the generator
      makes the parents first, and the demo tests check the keys of a built workspace.
    - A page cache of 512 MiB: the index builds and the full-text rebuild after the rows sort
      and merge the whole tables; with the usual 64 MiB they spilled.
    - Sorter helper threads (``threads=2``; the library is built with up to 8): a ``CREATE
      INDEX`` over more rows than fit in memory sorts its pieces in parallel, the 1M demo's
      message and audit indexes among them. On one core or a busy machine it costs nothing.
    """
    with suppress(sqlite3.OperationalError):  # "database is locked": someone else has it open
        connection.execute("PRAGMA journal_mode=DELETE")
    for pragma in ("synchronous=OFF", "foreign_keys=OFF", "cache_size=-524288", "threads=2"):
        connection.execute(f"PRAGMA {pragma}")


class _TicketExtras:
    """Per-ticket rows beside the conversation: SLA timing, handle time, surveys and answers."""

    def __init__(self, builder: DemoBuilder, batch: _Batch) -> None:
        self.builder = builder
        self.rng = builder.service_rng
        self.timings = batch.timings
        self.handle = batch.handle
        self.surveys = batch.surveys
        self.messages = batch.survey_messages

    def add(
        self,
        ticket_id: str,
        history: list[list[object]],
        priority: str,
        dims: Mapping[str, object],
        conversation: list[tuple[int, str, str, str | None, str, int]],
        solved_ms: int | None,
        channel: str,
    ) -> None:
        rng, ids, now_ms = self.rng, self.builder.service_ids, self.builder.now_ms
        replies = [(ms, agent) for ms, kind, _b, agent, _d, public in conversation if public and kind == "agent"]
        handle_s = 0
        if replies and replies[-1][1]:
            handle_s = sum(rng.randint(120, 900) for _ in replies)
            last_ms, agent = replies[-1]
            self.handle.append((ids.at(last_ms), ticket_id, agent, handle_s, _db_time(last_ms)))
        targets = self.builder.book.targets(priority, str(dims["group_id"]))
        row = timing.db_row(ticket_id, history, targets, dims, handle_s, to_json=_plain_json)
        self.timings.append(row)
        if solved_ms is None or rng.random() >= 0.45:
            return
        survey_id = ids.at(solved_ms)
        if rng.random() >= 0.55:
            self.surveys.append((survey_id, ticket_id, _db_time(solved_ms), None, None, "", None, None, None))
            return
        answered_ms = min(solved_ms + rng.randint(10, 2880) * 60_000, now_ms - 60_000)
        answer = service_levels.survey_answer(rng, breached=row[BREACH_AT] is not None)
        message_id = ids.at(answered_ms)
        meta = {"survey": {"id": survey_id, "csat": answer.csat, "ces": answer.ces, "nps": answer.nps}}
        self.messages.append(
            (
                message_id,
                ticket_id,
                channel,
                "outbound",
                0,
                "system",
                None,
                None,
                service_levels.survey_body(answer),
                json.dumps(meta),
                _db_time(answered_ms),
            )
        )
        self.surveys.append(
            (
                survey_id,
                ticket_id,
                _db_time(solved_ms),
                _db_time(answered_ms),
                answer.csat,
                answer.comment,
                answer.ces,
                answer.nps,
                message_id,
            )
        )


# --- text helpers ---------------------------------------------------------------------------


def _agent_email(name: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return f"{plain.lower().replace(' ', '.')}@{content.SUPPORT_DOMAIN}"


def _action(field_name: str, value: str) -> dict[str, object]:
    if field_name in ("add_tags", "remove_tags"):
        return {"field": field_name, "value": [v for v in value.split(",") if v]}
    return {"field": field_name, "value": value}


def _slugify(title: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _status_for_age(age_days: float, rng: random.Random) -> str:
    if age_days > 14:
        return "closed" if rng.random() < 0.85 else "solved"
    if age_days > 3:
        return rng.choices(("solved", "closed", "pending", "open", "on_hold"), (50, 20, 15, 10, 5))[0]
    return rng.choices(("new", "open", "pending", "solved", "on_hold"), (30, 35, 15, 15, 5))[0]


def _ticket_type(topic: content.Topic, rng: random.Random) -> str:
    """Most tickets of an incident topic are incidents; some are filed as plain questions."""
    if topic.type_ == "incident" and rng.random() >= 0.7:
        return "question"
    return topic.type_


def _conversation_length(rng: random.Random) -> int:
    return rng.choices((1, 2, 3, 4, 5, 6, 7, 8, 10, 12), (6, 14, 16, 16, 14, 11, 8, 7, 5, 3))[0]


def _customer_text(channel: str, first: str, text: str, rng: random.Random, *, short: bool = False) -> str:
    if channel == "chat":
        return rng.choice(content.CHAT_LINES) + "\n" + text if not short else text
    if channel == "social":
        return text[:240]
    if channel == "phone":
        return f"Caller said: {text}"
    sign = rng.choice(content.SIGN_OFFS)
    body = text if short else f"Hello,\n\n{text}"
    return f"{body}\n\n{sign}\n{first}" if sign else f"{body}\n\n{first}"


def _agent_text(channel: str, first: str, text: str, agent: str, rng: random.Random) -> str:
    if channel in ("chat", "social"):
        return text
    if channel == "phone":
        return f"Called back and explained: {text}"
    greeting = rng.choice(content.GREETINGS).format(first=first)
    return f"{greeting}\n\n{text}\n\n{rng.choice(content.AGENT_CLOSINGS)}\n\n{agent.split()[0]}\nBrightline Support"


def _plain_value(value: object) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return f'"{value}"'
    if type(value) is bool:
        return "true" if value else "false"
    return repr(value)


def _plain_json(value: object) -> str:
    """What ``json.dumps`` writes for a demo ticket's SLA history and clocks, ten times faster:
    lists of lists or dicts of None, finite floats, ints and strings with nothing to escape
    (statuses, kinds, metric names, ids) — which is all the demo puts there; the demo tests
    check every stored history and clocks against ``json.dumps``."""
    parts = []
    for item in value:  # type: ignore[attr-defined]
        if type(item) is dict:
            parts.append("{" + ", ".join(f'"{k}": {_plain_value(v)}' for k, v in item.items()) + "}")
        else:
            parts.append("[" + ", ".join(map(_plain_value, item)) + "]")
    return "[" + ", ".join(parts) + "]"


_NETWORK_META = {network: json.dumps({"network": network}) for network in content.SOCIAL_NETWORKS}


def _message_meta(channel: str, ms: int, rng: random.Random) -> str:
    """The JSON ``json.dumps`` would write for these dicts, formatted directly (plain ASCII keys
    and values, nothing to escape)."""
    if channel == "phone":
        return f'{{"duration_seconds": {rng.randint(45, 1500)}, "direction": "inbound"}}'
    if channel == "social":
        return _NETWORK_META[rng.choice(content.SOCIAL_NETWORKS)]
    if channel == "email":
        return f'{{"message_id": "<{ms}.{rng.getrandbits(32):x}@mail.example>"}}'
    return "{}"


def _article_body(
    title: str, section: tuple[str, str, str], lead: str, topic: content.Topic | None, order: list[int]
) -> str:
    """An article that answers what its title promises: its topic's questions and answers (in
    the drawn order), or a general how-to when the title has no ticket topic."""
    if topic is None:
        return (
            f"# {title}\n\n{lead}\n\n{section[2]}\n\n## What to do\n\n"
            "1. Open Settings and choose the section named in the title.\n"
            "2. Follow the steps shown there; changes apply to the whole workspace at once.\n\n"
            "## Still stuck?\n\nContact Brightline Support with a screenshot of what you see."
        )
    answers = [topic.answers[i] for i in order] if len(order) == len(topic.answers) else list(topic.answers)
    steps = "\n".join(f"{i}. {line}" for i, line in enumerate(answers, start=1))
    questions = "\n".join(f"- {q}" for q in topic.openings)
    return (
        f"# {title}\n\n{lead}\n\n{section[2]}\n\n## When you need this\n\n{questions}\n\n"
        f"## What to do\n\n{steps}\n\n## Still stuck?\n\nContact Brightline Support with the "
        f"exact error message and the time it happened. Related topics: {', '.join(topic.tags)}."
    )


def build_demo(
    workspace: Workspace,
    *,
    tickets: int = 10_000,
    seed: int = 7,
    now: datetime | None = None,
    progress: Progress | None = None,
    pipeline: bool | None = None,
) -> DemoSummary:
    """Fill ``workspace`` (which must be empty) with the demo data."""
    return DemoBuilder(workspace, tickets=tickets, seed=seed, now=now, progress=progress, pipeline=pipeline).build()
