"""A new filter keeps the previous rows on screen until its first page arrives, then shows only
its own: no empty frame in between, and never a row of the old query after the new one loaded."""

from __future__ import annotations

from supportdesk.store import reads
from supportdesk.tui.widgets.queue_view import HOLD
from tests.tui.conftest import AppFactory, settle, until
from tests.tui.test_flows import queue_of, show_view


def line_text(queue: object, y: int) -> str:
    return str(queue.render_line(y).text)  # type: ignore[attr-defined]


async def test_old_rows_stay_until_the_new_page_then_give_way(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(pilot)
        queue = await show_view(pilot, app, "All open")
        old_first = queue.current_row
        assert old_first is not None and old_first.number is not None
        assert f" {old_first.number} " in line_text(queue, 0)

        plan = reads.plan_queue("status<solved channel:phone", me=app.me, sort="updated-asc")
        queue.set_plan(plan)
        # the page is read in a worker: until its message is handled the old rows are drawn
        assert f" {old_first.number} " in line_text(queue, 0)
        assert queue.model is not None and queue.model.row(0) is None

        await until(pilot, lambda: queue.model is not None and queue.model.row(0) is not None)
        await settle(pilot)
        new_first = queue.model.row(0)
        assert new_first is not None and new_first.channel == "phone" and new_first.id != old_first.id
        assert f" {new_first.number} " in line_text(queue, 0)
        assert queue.virtual_size.height == queue.model.height


async def test_a_query_matching_nothing_says_so_after_the_hold(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(150, 40)) as pilot:
        await settle(pilot)
        queue = await show_view(pilot, app, "All open")
        queue.set_plan(reads.plan_queue("status<solved number:999999999", me=app.me))
        await until(pilot, lambda: "no tickets match" in line_text(queue, 0), timeout=HOLD * 2 + 10)
        assert line_text(queue, 1).strip() == ""
        assert queue_of(app) is queue
