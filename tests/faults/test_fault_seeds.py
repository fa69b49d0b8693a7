"""The fault harness on a few fixed seeds per backend, every CI run (about a minute each).

A thousand seeds per backend are run by ``bench/sync_faults.py`` and recorded in
``bench/README.md``; these seeds were chosen because together they hit every kind of fault the
harness has, which the test checks too (a harness that injected nothing would prove nothing).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.faults.harness import SeedReport, fault_run, run_seed
from tests.live import postgres_url

pytestmark = pytest.mark.integration

SEEDS = {"sqlite": (207, 218, 224), "postgresql": (207, 218, 224)}
STEPS = 30
EVERY_FAULT = ("cli-round", "cli-sigkill", "thread-round", "overlap", "race", "server-sigkill", "cut-all", "weather")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_fixed_seeds_lose_nothing_double_nothing_and_converge(backend: str, tmp_path: Path) -> None:
    if backend == "postgresql":
        postgres_url()  # skips without a cluster (fails in CI)
    reports: list[SeedReport] = []
    with fault_run(backend, tmp_path / "run") as run:
        for seed in SEEDS[backend]:
            reports.append(run_seed(run, seed, steps=STEPS))
    problems = [
        f"{report.line()}: {report.lost + report.doubled + report.diverged + report.anomalies}"
        for report in reports
        if not report.ok or report.anomalies
    ]
    assert not problems, "\n".join(problems)
    faults: Counter[str] = Counter()
    for report in reports:
        faults.update(report.faults)
    missing = [name for name in EVERY_FAULT if not faults[name]]
    assert not missing, f"these seeds no longer inject {missing}: {dict(faults)}"
    assert sum(faults[f"proxy-{name}"] for name in ("lose", "cut", "refuse", "delay")) > 0
    assert sum(r.replies_accepted for r in reports) == sum(r.replies_once for r in reports)
