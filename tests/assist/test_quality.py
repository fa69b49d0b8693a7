"""Quality floors on our evaluation set (bench/assist_evaluation.yaml; bench/README.md has the
full report): a change that makes triage or suggestions worse fails here. Integration tier:
it loads all ten languages."""

from __future__ import annotations

import re
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from supportdesk.assist import duplicates, language, library, sentiment
from supportdesk.assist.tickets import compose
from supportdesk.store.workspace import Workspace

pytestmark = pytest.mark.integration

EVALUATION = Path(__file__).parents[2] / "bench" / "assist_evaluation.yaml"
_VARIANT = re.compile(r" \((admins|owners|mobile users|API users)\)$")


@pytest.fixture(scope="module")
def evaluation() -> dict[str, list[dict[str, Any]]]:
    return yaml.safe_load(EVALUATION.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_the_set_is_what_the_issue_asks_for(evaluation: dict[str, list[dict[str, Any]]]) -> None:
    texts = len(evaluation["kb"]) + len(evaluation["messages"]) + 2 * len(evaluation["duplicates"])
    assert texts >= 150
    assert len({m["lang"] for m in evaluation["messages"]}) >= 8
    assert {m["sentiment"] for m in evaluation["messages"]} == {"negative", "neutral", "positive"}
    assert {d["same"] for d in evaluation["duplicates"]} == {True, False}
    assert all(entry["split"] in ("tune", "held") for group in evaluation.values() for entry in group)


def test_language_and_negative_sentiment(evaluation: dict[str, list[dict[str, Any]]]) -> None:
    labelled = [(m["text"], m["lang"]) for m in evaluation["messages"]]
    labelled += [(k["q"], k.get("lang", "en")) for k in evaluation["kb"]]
    right = sum(language.detect(text).code == code for text, code in labelled)
    assert right / len(labelled) >= 0.98
    negative = [m for m in evaluation["messages"] if m["sentiment"] == "negative"]
    found = sum(sentiment.score(m["text"], m["lang"]).label == "negative" for m in negative)
    assert found / len(negative) >= 0.9


def test_kb_hybrid_beats_bm25(indexed_demo: Workspace, evaluation: dict[str, list[dict[str, Any]]]) -> None:
    titles: dict[int, str] = {}
    hybrid_top1 = hybrid_top3 = bm25_top1 = 0
    with closing(indexed_demo.connect()) as connection:
        titles = {row[0]: row[1] for row in connection.execute("SELECT rowid, title FROM kb_article")}
        for entry in evaluation["kb"]:
            accept = {entry["article"], *entry.get("also", [])}
            text = compose("", [entry["q"]])
            hybrid = [_VARIANT.sub("", s.title) for s in library.suggest_articles(connection, text, limit=3)]
            plain = [_VARIANT.sub("", titles[r]) for r in library.bm25_articles(connection, text, limit=1)]
            hybrid_top1 += bool(hybrid and hybrid[0] in accept)
            hybrid_top3 += bool(accept & set(hybrid))
            bm25_top1 += bool(plain and plain[0] in accept)
    total = len(evaluation["kb"])
    assert hybrid_top1 >= bm25_top1 + 0.05 * total
    assert hybrid_top3 / total >= 0.85


def test_duplicates_at_the_shipped_threshold(evaluation: dict[str, list[dict[str, Any]]]) -> None:
    pairs = [(duplicates.score(p["first"], p["then"]), p["same"]) for p in evaluation["duplicates"]]
    flagged = [same for value, same in pairs if value >= duplicates.THRESHOLD]
    positives = sum(same for _value, same in pairs)
    assert sum(flagged) / len(flagged) >= 0.85
    assert sum(flagged) / positives >= 0.8
