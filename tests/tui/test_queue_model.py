"""The queue's page cache against a real store: every page reached by keyset, never OFFSET."""

from __future__ import annotations

from supportdesk.store import reads
from supportdesk.store.workspace import Workspace
from supportdesk.tui.queue_model import MAX_PAGES, PAGE, QueueModel


def load(workspace: Workspace, model: QueueModel, page: int) -> bool:
    spec = model.fetch_spec(page)
    if spec is None:
        return False
    with workspace.reading() as connection:
        result = reads.queue_page(connection, model.plan, after=spec.after, limit=spec.limit, reverse=spec.reverse)
    model.store(page, result.rows, result.more, forward=not spec.reverse)
    return True


def all_ids(workspace: Workspace, model: QueueModel) -> list[str]:
    with workspace.reading() as connection:
        return [r.id for r in reads.queue_page(connection, model.plan, limit=1000).rows]


def test_pages_by_neighbour_anchor_and_from_the_end_agree_with_one_long_read(console_workspace: Workspace) -> None:
    plan = reads.plan_queue("", sort="updated-desc")
    model = QueueModel(plan, 1)
    expected = all_ids(console_workspace, model)
    assert len(expected) > 2 * PAGE
    with console_workspace.reading() as connection:
        model.set_total(reads.queue_count(connection, plan))
    last = (len(expected) - 1) // PAGE
    assert model.fetch_spec(1) is None  # no neighbour, no anchors yet
    assert load(console_workspace, model, last)  # the tail, read backwards
    assert [model.row(i).id for i in range(last * PAGE, len(expected))] == expected[last * PAGE :]  # type: ignore[union-attr]
    assert load(console_workspace, model, last - 1)  # before a loaded page, backwards
    assert [model.row(i).id for i in range((last - 1) * PAGE, last * PAGE)] == expected[(last - 1) * PAGE : last * PAGE]  # type: ignore[union-attr]
    fresh = QueueModel(plan, 2)
    with console_workspace.reading() as connection:
        fresh.anchors = reads.queue_anchors(connection, plan, every=PAGE)
    assert load(console_workspace, fresh, 1)  # backwards from the next page's anchor
    assert [fresh.row(i).id for i in range(PAGE, 2 * PAGE)] == expected[PAGE : 2 * PAGE]  # type: ignore[union-attr]
    for page in range(last + 1):
        assert page in fresh.pages or load(console_workspace, fresh, page)
    assert [fresh.row(i).id for i in range(len(expected))] == expected  # type: ignore[union-attr]


def test_the_cache_forgets_old_pages_and_the_height_follows_what_is_known(console_workspace: Workspace) -> None:
    plan = reads.plan_queue("")
    model = QueueModel(plan, 1)
    assert model.loading and model.height == 0 and model.missing(0, 10) == [0]
    assert load(console_workspace, model, 0)
    assert model.height == 2 * PAGE  # one page loaded, more to come
    fake = model.pages[0]
    for page in range(1, MAX_PAGES + 5):
        model.store(page, fake, True)
    assert len(model.pages) == MAX_PAGES and 0 not in model.pages
    model.clear()
    assert not model.pages and model.row(0) is None
