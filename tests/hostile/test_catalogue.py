"""The hostile-input list checks itself: at least sixty distinct cases, every surface attacked,
every item of issue 12 proved, and every proof a test that exists — so renaming or deleting a
test breaks the list here instead of silently leaving a promise unproved."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from tests.hostile.catalogue import CATALOGUE, ISSUE_12, SURFACES, node_ids

ROOT = Path(__file__).resolve().parents[2]


@cache
def functions_in(path: str) -> frozenset[str]:
    """The names of the test functions a file defines at module level."""
    tree = ast.parse((ROOT / path).read_text())
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    )


def split(node_id: str) -> tuple[str, str, str | None]:
    path, _, rest = node_id.partition("::")
    name, bracket, param = rest.partition("[")
    return path, name, param[:-1] if bracket else None


def test_the_list_holds_at_least_sixty_distinct_cases() -> None:
    assert len(CATALOGUE) >= 60, len(CATALOGUE)
    for field in ("id", "attack"):
        repeated = [v for v, n in Counter(getattr(c, field) for c in CATALOGUE).items() if n > 1]
        assert not repeated, f"cases share an {field}: {repeated}"
    for case in CATALOGUE:
        assert case.surface in SURFACES, case
        assert case.proof, case


def test_every_surface_the_brief_names_is_attacked() -> None:
    counts = Counter(case.surface for case in CATALOGUE)
    for surface in ("cli", "server", "channels", "console", "sync", "query"):
        assert counts[surface] >= 3, (surface, counts)


def test_every_issue_12_item_names_a_proof() -> None:
    assert len(ISSUE_12) >= 20
    for item, proofs in ISSUE_12.items():
        assert proofs, item


def test_every_proof_names_a_test_function_that_exists() -> None:
    """Fast and offline (the unit tier): the file is there and defines the function."""
    for node_id in node_ids():
        path, name, _param = split(node_id)
        assert (ROOT / path).is_file(), node_id
        assert name in functions_in(path), node_id


def test_every_hostile_test_is_listed() -> None:
    """A case added to tests/hostile is a case of the list: none is left out of the index."""
    listed = {split(node_id)[:2] for node_id in node_ids()}
    for path in sorted((ROOT / "tests" / "hostile").glob("test_*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if path.name == "test_catalogue.py":
            continue
        for name in functions_in(relative):
            assert (relative, name) in listed, f"{relative}::{name} is not in tests/hostile/catalogue.py"


@pytest.mark.integration
def test_every_proof_is_a_test_pytest_collects() -> None:
    """Parameters included: pytest itself collects every file the list names, and each node id
    is one it collected (an id without parameters stands for all of them)."""
    files = sorted({split(node_id)[0] for node_id in node_ids()})
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    collected = {line.strip() for line in done.stdout.splitlines() if "::" in line}
    missing = [
        node_id
        for node_id in node_ids()
        if node_id not in collected and ("[" in node_id or not any(c.startswith(node_id + "[") for c in collected))
    ]
    assert not missing, missing
