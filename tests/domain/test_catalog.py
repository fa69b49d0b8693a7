"""The catalog finds every mutation by name, importing only the module that defines it (issue 19)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from supportdesk.domain import catalog
from supportdesk.domain.errors import UnknownMutation
from supportdesk.domain.registry import registered


def test_every_mutation_name_is_in_the_index_under_the_module_that_registers_it() -> None:
    every = catalog.names()  # loads every mutator module
    assert len(every) > 40
    index = catalog.index()
    assert sorted(index) == every, "a mutation the source index cannot place (get() would load everything)"
    for name in every:
        spec = catalog.get(name)
        assert spec.name == name
        assert spec.run.__module__ == f"{catalog.PACKAGE}.{index[name]}"
    assert "ticket.create" in every and "customer.erase" in every  # a literal, and a constant's name


def test_an_unknown_name_is_a_typed_error_after_looking_everywhere() -> None:
    with pytest.raises(UnknownMutation, match=r"unknown mutation 'ticket\.explode'"):
        catalog.get("ticket.explode")
    with pytest.raises(UnknownMutation):
        catalog.get("")


@pytest.mark.integration
def test_running_one_mutation_loads_only_its_module(tmp_path: Path) -> None:
    """In a fresh interpreter (this one has loaded everything): ``get`` imports one noun."""
    script = textwrap.dedent(
        """
        import json, sys
        from supportdesk.domain import catalog
        catalog.get("ticket.create")
        before = sorted(m for m in sys.modules if m.startswith(catalog.PACKAGE + "."))
        catalog.names()
        after = sorted(m for m in sys.modules if m.startswith(catalog.PACKAGE + "."))
        print(json.dumps({"before": before, "after": after}))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = json.loads(result.stdout)
    short = {name.rsplit(".", 1)[1] for name in loaded["before"]}
    assert "tickets" in short
    assert not short & {"macros", "articles", "routing_rules", "sla", "team", "views", "imports"}
    assert {name.rsplit(".", 1)[1] for name in loaded["after"]} >= set(catalog.modules()) - {"common", "attachments"}


@pytest.fixture
def drop_in_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A mutations package holding one new noun's module, as a helper would add it."""
    package = tmp_path / "dropin_mutations"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "widgets.py").write_text(
        textwrap.dedent(
            '''
            from supportdesk.domain.registry import Args, mutation

            SPIN = "widget.spin"


            class Poke(Args):
                widget_id: str


            @mutation("widget.poke", Poke)
            def poke(tx, args):
                """Poke a widget."""
                return {"poked": args.widget_id}


            @mutation(SPIN, Poke)
            def spin(tx, args):
                """Spin a widget."""
                return None
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(catalog, "PACKAGE", "dropin_mutations")
    catalog.modules.cache_clear()
    catalog.index.cache_clear()
    try:
        yield "dropin_mutations"
    finally:
        catalog.modules.cache_clear()
        catalog.index.cache_clear()
        for name in ("widget.poke", "widget.spin"):
            registered().pop(name, None)
        sys.modules.pop("dropin_mutations.widgets", None)
        sys.modules.pop("dropin_mutations", None)


def test_a_new_nouns_module_is_found_by_being_in_the_package(drop_in_package: str) -> None:
    assert catalog.modules() == ("widgets",)
    assert catalog.index() == {"widget.poke": "widgets", "widget.spin": "widgets"}
    assert f"{drop_in_package}.widgets" not in sys.modules
    assert catalog.get("widget.spin").summary == "Spin a widget."
    assert f"{drop_in_package}.widgets" in sys.modules
    assert catalog.get("widget.poke").name == "widget.poke"
