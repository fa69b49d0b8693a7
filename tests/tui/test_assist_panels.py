"""The console's KB panel suggests articles ranked by the offline assist engine, loaded in a
worker (strict reads: a read on the UI thread fails the test)."""

from __future__ import annotations

from contextlib import closing

from supportdesk import assist
from supportdesk.store.workspace import Workspace
from tests.tui.conftest import AppFactory, until
from tests.tui.test_flows import open_first


async def test_the_kb_panel_suggests_by_bm25_and_meaning(make_app: AppFactory, console_workspace: Workspace) -> None:
    app = make_app()
    async with app.run_test(size=(150, 44)) as pilot:
        screen, ticket_id = await open_first(pilot, app)
        with closing(console_workspace.connect()) as connection:
            expected = [item.id for item in assist.articles_for(connection, ticket_id, limit=8)]
        assert expected
        await pilot.press("k")
        panel = screen.query_one("KBPanel")
        await until(pilot, lambda: bool(panel.hits), timeout=60)  # the embeddings may load first
        assert "Suggested for this ticket" in str(panel.query_one("#kb-subtitle").render())
        assert [hit.id for hit in panel.hits] == expected
