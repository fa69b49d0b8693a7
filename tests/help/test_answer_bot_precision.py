"""The answer bot is right at least 95 % of the times it answers, on our labelled questions.

The set (``bench/answer_bot_questions.yaml``: questions written the way customers write, each
labelled with the demo article that answers it or ``none``) is asked of the help center's
ranking over the demo's public articles, at the shipped ``[help] bot_threshold``; the bench
(``bench/answer_bot.py``) prints the whole curve. A behaviour test, not a timing one.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from supportdesk.server.help.settings import HelpSettings

BENCH = Path(__file__).parents[2] / "bench" / "answer_bot.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("answer_bot_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_precision_at_the_shipped_threshold(tmp_path: Path) -> None:
    bench = _bench()
    questions = bench.load_questions()
    assert len(questions) >= 60
    assert sum(not labels for _q, labels in questions) >= 10  # questions no article answers
    outcomes = bench.evaluate(tmp_path, questions)
    precision, share, answered = bench.figures(outcomes, HelpSettings().bot_threshold)
    assert precision >= 0.95, [
        (o.question, o.chosen) for o in outcomes if o.answered(HelpSettings().bot_threshold) and not o.right
    ]
    # and it answers a useful share, not one safe question
    assert share >= 0.3 and answered >= 20


def test_questions_name_real_articles() -> None:
    bench = _bench()
    slugs = {article["slug"] for article in bench.demo_articles()}
    assert len(slugs) == 40
    for question, labels in bench.load_questions():
        assert labels <= slugs, question
