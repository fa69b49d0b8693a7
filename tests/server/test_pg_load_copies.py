"""``bench/pg_load_demo.py --copies``: a copy's ids grow with time as the product's do (UUIDv7 of
the copy's moved-back time), stay distinct from the original's and each other's, and map the same
original to the same id in every table that refers to it — the 1M search benchmark walked index
pages a server never would while copies had hashed ids (bench/README.md, pgphrase13)."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).parents[2] / "bench" / "pg_load_demo.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pg_load_demo_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def millis(value: str) -> int:
    return uuid.UUID(value).int >> 80


def test_a_copys_ids_are_uuid7_of_its_moved_back_time_and_distinct() -> None:
    from supportdesk.store.ids import uuid7

    bench = _bench()
    originals = [str(uuid7()) for _ in range(200)]
    seen = set(originals)
    for number in (1, 2, 9):
        rekey = bench.Rekey(number, "ticket", ["id"], set())
        copies = [rekey.key(original) for original in originals]
        assert all(uuid.UUID(c).version == 7 for c in copies)
        assert all(millis(c) == millis(o) - 37_000 * number for c, o in zip(copies, originals, strict=True))
        assert [rekey.key(original) for original in originals] == copies  # the same in every table
        assert seen.isdisjoint(copies) and len(set(copies)) == len(copies)
        seen.update(copies)
    # an id that is no UUIDv7 (or no UUID) is still mapped, hashed
    other = bench.Rekey(1, "ticket", ["id"], set())
    assert other.key("not-a-uuid") == other.key("not-a-uuid") != "not-a-uuid"
    assert other.key(str(uuid.uuid4())) != other.key(str(uuid.uuid4()))
