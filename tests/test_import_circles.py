"""No two modules of one package import each other round in a circle, in any package.

Issue 18 named five circles; they were opened, and this keeps every package free of new ones
(the CLI's and the console's own structure tests say more about those two).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_graph import SRC, circles

PACKAGES = sorted(
    ".".join(path.relative_to(SRC).parts)
    for path in (SRC / "supportdesk").iterdir()
    if path.is_dir() and (path / "__init__.py").exists()
)


def test_every_package_of_the_source_is_checked() -> None:
    assert {"supportdesk.server", "supportdesk.channels", "supportdesk.domain", "supportdesk.store"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circle_inside_a_package(package: str) -> None:
    assert circles(package) == []


def test_a_circle_is_found(tmp_path: Path) -> None:
    """The check itself can fail: two modules importing each other are one circle."""
    from tests import import_graph

    package = tmp_path / "src" / "circled"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from circled.b import x\n")
    (package / "b.py").write_text("def x() -> None:\n    from circled import a\n")
    original = import_graph.SRC
    import_graph.SRC = tmp_path / "src"
    try:
        assert [sorted(group) for group in import_graph.circles("circled")] == [["circled.a", "circled.b"]]
    finally:
        import_graph.SRC = original
