"""Precision and reach of the answer bot: ``python bench/answer_bot.py``.

Publishes the demo's 40 base knowledge-base articles (``supportdesk demo`` writes each title
once more for admins, owners, mobile and API users; a help center shows one of each) in a
fresh server database, then asks the help center's answer ranking
(:meth:`supportdesk.server.help.search.HelpSearch.answer`, the code the bot runs) about every
question of ``bench/answer_bot_questions.yaml`` — questions written the way customers write,
each labelled with the article that answers it or ``none``.

For each threshold it prints the share of questions the bot would answer and the precision of
those answers (an answer is right when its article is one of the question's labels; any
answer to a ``none`` question is wrong). ``--misses`` lists the wrong answers at the shipped
threshold (``[help] bot_threshold``'s default).
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

QUESTIONS = Path(__file__).with_name("answer_bot_questions.yaml")
THRESHOLDS = tuple(round(0.25 + 0.025 * n, 3) for n in range(17))


@dataclass(frozen=True)
class Outcome:
    question: str
    labels: frozenset[str]
    chosen: str | None
    confidence: float

    def answered(self, threshold: float) -> bool:
        return self.chosen is not None and self.confidence >= threshold

    @property
    def right(self) -> bool:
        return self.chosen in self.labels


def demo_articles() -> list[dict[str, Any]]:
    """The demo's base articles as ``article.create`` arguments (public, in their sections)."""
    from supportdesk.demo import content
    from supportdesk.demo.generator import _article_body, _slugify

    sections = {section[1]: section for section in content.ARTICLE_SECTIONS}
    topics = {topic.key: topic for topic in content.TOPICS}
    articles = []
    for title in content.ARTICLE_TITLES:
        about = content.ARTICLE_ABOUT[title]
        topic = topics.get(about.topic)
        order = list(range(len(topic.answers))) if topic else []
        section = sections[about.section]
        articles.append(
            {
                "slug": _slugify(title),
                "title": title,
                "body": _article_body(title, section, about.lead, topic, order),
                "tags": [section[1], *(topic.tags[:2] if topic else ())],
                "public": True,
                "section": section[0],
            }
        )
    return articles


def load_questions(path: Path = QUESTIONS) -> list[tuple[str, frozenset[str]]]:
    entries = yaml.safe_load(path.read_text())
    return [(str(e["q"]), frozenset(str(e["a"]).split("|")) - {"none"}) for e in entries]


def evaluate(folder: Path, questions: list[tuple[str, frozenset[str]]] | None = None) -> list[Outcome]:
    """Publish the demo articles in a server database under ``folder``; the bot's choice for
    every question."""
    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as
    from supportdesk.server.db import open_database
    from supportdesk.server.help.search import HelpSearch

    database = open_database(str(folder / "answer-bot.db"))
    try:
        for article in demo_articles():
            apply_as(database, SYSTEM, "article.create", article)
        search = HelpSearch(database)
        outcomes = []
        for question, labels in questions if questions is not None else load_questions():
            found = search.answer(question)
            outcomes.append(
                Outcome(question, labels, found.hit.slug if found else None, found.confidence if found else 0.0)
            )
        return outcomes
    finally:
        database.dispose()


def figures(outcomes: list[Outcome], threshold: float) -> tuple[float, float, int]:
    """(precision, share answered, answers) at ``threshold``; precision 1.0 when none answered."""
    answered = [o for o in outcomes if o.answered(threshold)]
    right = sum(o.right for o in answered)
    precision = right / len(answered) if answered else 1.0
    return precision, len(answered) / len(outcomes), len(answered)


def main() -> None:
    from supportdesk.server.help.settings import HelpSettings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the wrong answers at the shipped threshold")
    options = parser.parse_args()
    shipped = HelpSettings().bot_threshold
    with tempfile.TemporaryDirectory() as folder:
        outcomes = evaluate(Path(folder))
    answerable = sum(bool(o.labels) for o in outcomes)
    print(f"{len(outcomes)} questions, {answerable} answered by an article, {len(outcomes) - answerable} by none")
    print(f"{'threshold':>9}  {'answered':>8}  {'share':>6}  {'precision':>9}")
    for threshold in sorted({*THRESHOLDS, shipped}):
        precision, share, count = figures(outcomes, threshold)
        mark = "  <- shipped" if threshold == shipped else ""
        print(f"{threshold:>9.3f}  {count:>8}  {share:>6.1%}  {precision:>9.1%}{mark}")
    if options.misses:
        for outcome in outcomes:
            if outcome.answered(shipped) and not outcome.right:
                print(f"wrong {outcome.confidence:.3f}: {outcome.question!r} -> {outcome.chosen}")


if __name__ == "__main__":
    main()
