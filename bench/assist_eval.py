"""Quality of the assist engine on our evaluation set: ``python bench/assist_eval.py``.

Builds a small demo workspace (its 150 knowledge-base articles are what the KB questions are
asked against), then reports, for the `tune` split, the `held` split and both:

- KB suggestion top-1 / top-3, hybrid against plain bm25 (the console's earlier ranking: the
  distinctive words OR-ed, bm25 with the title weighing 4), English and other languages apart;
  both lists count an article and its "(admins)" … copies as one answer;
- language accuracy, over every text whose language is labelled;
- sentiment: recall and precision of `negative`, and three-class accuracy;
- intent accuracy (intents learned from the demo's tagged tickets);
- duplicates: precision and recall at the shipped threshold, and the best recall at ≥ 95 %
  precision on each split.

``--misses`` prints what went wrong, entry by entry. ``--workspace DIR`` measures on a copy of a
demo built earlier (``supportdesk demo --tickets 3000 --seed 7`` at the same instant, or the
folder of an earlier run) instead of building one, and ``--kb-only`` stops after the KB table:
together they make a ranking experiment a matter of seconds instead of minutes.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
from collections import defaultdict
from contextlib import closing
from pathlib import Path
from typing import Any

import yaml

from supportdesk.assist import duplicates, language, library, sentiment
from supportdesk.assist import triage as triage_module
from supportdesk.assist.tickets import compose
from supportdesk.demo.generator import build_demo
from supportdesk.store.times import parse_instant
from supportdesk.store.workspace import Workspace

EVALUATION = Path(__file__).with_name("assist_evaluation.yaml")
_VARIANT = re.compile(r" \((admins|owners|mobile users|API users)\)$")


def load() -> dict[str, list[dict[str, Any]]]:
    return yaml.safe_load(EVALUATION.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def family(title: str) -> str:
    return _VARIANT.sub("", title)


def pct(hits: int, total: int) -> str:
    return f"{100 * hits / total:5.1f} % ({hits}/{total})" if total else "    – (0)"


def kb_report(connection: Any, entries: list[dict[str, Any]], misses: bool) -> None:
    titles = {row[0]: row[1] for row in connection.execute("SELECT rowid, title FROM kb_article")}
    rows: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for entry in entries:
        accept = {entry["article"], *entry.get("also", [])}
        text = compose("", [entry["q"]])
        hybrid = [family(s.title) for s in library.suggest_articles(connection, text, limit=3)]
        plain: list[str] = []  # distinct articles, as the hybrid's list is
        for rowid in library.bm25_articles(connection, text, limit=50):
            if family(titles[rowid]) not in plain:
                plain.append(family(titles[rowid]))
        group = "en" if entry.get("lang", "en") == "en" else "other languages"
        for key in ((entry["split"], group), ("all", group), (entry["split"], "all"), ("all", "all")):
            row = rows[key]
            row[0] += 1
            row[1] += bool(hybrid[:1] and hybrid[0] in accept)
            row[2] += bool(accept & set(hybrid[:3]))
            row[3] += bool(plain[:1] and plain[0] in accept)
            row[4] += bool(accept & set(plain[:3]))
        if misses and not (hybrid and hybrid[0] in accept):
            print(f"  KB miss [{entry['split']}] {entry['q']!r}\n     want {entry['article']!r}, got {hybrid}")
    print("\nKB suggestions                 hybrid top-1         hybrid top-3         bm25 top-1           bm25 top-3")
    for (split, group), (n, h1, h3, b1, b3) in sorted(rows.items()):
        print(f"  {split:5} {group:17} {pct(h1, n):20} {pct(h3, n):20} {pct(b1, n):20} {pct(b3, n):20}")


def language_report(data: dict[str, list[dict[str, Any]]], misses: bool) -> None:
    labelled = [(m["text"], m["lang"], m["split"]) for m in data["messages"]]
    labelled += [(k["q"], k.get("lang", "en"), k["split"]) for k in data["kb"]]
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for text, expected, split in labelled:
        found = language.detect(text).code
        for key in (split, "all"):
            counts[key][0] += 1
            counts[key][1] += found == expected
        if misses and found != expected:
            print(f"  language miss: {text!r} want {expected}, got {found}")
    print("\nLanguage accuracy (" + ", ".join(language.DEFAULT_LANGUAGES) + ")")
    for key, (n, hits) in sorted(counts.items()):
        print(f"  {key:5} {pct(hits, n)}")


def sentiment_report(data: dict[str, list[dict[str, Any]]], misses: bool) -> None:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for message in data["messages"]:
        found = sentiment.score(message["text"], message["lang"]).label
        want = message["sentiment"]
        for key in (message["split"], "all"):
            c = counts[key]
            c["n"] += 1
            c["right"] += found == want
            c["neg"] += want == "negative"
            c["neg_found"] += found == "negative"
            c["neg_right"] += want == found == "negative"
        if misses and found != want:
            print(f"  sentiment miss [{message['lang']}]: {message['text']!r} want {want}, got {found}")
    print("\nSentiment                      negative recall      negative precision   3-class accuracy")
    for key, c in sorted(counts.items()):
        print(
            f"  {key:28} {pct(c['neg_right'], c['neg']):20} {pct(c['neg_right'], c['neg_found']):20} "
            f"{pct(c['right'], c['n'])}"
        )


def intent_report(connection: Any, data: dict[str, list[dict[str, Any]]], misses: bool) -> None:
    triager = triage_module.triager(connection)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for message in data["messages"]:
        found = triager.triage("", [message["text"]]).intent.name
        group = "en" if message["lang"] == "en" else "other languages"
        for key in ((message["split"], group), ("all", group), ("all", "all")):
            counts[f"{key[0]} {key[1]}"][0] += 1
            counts[f"{key[0]} {key[1]}"][1] += found == message["intent"]
        if misses and found != message["intent"]:
            print(f"  intent miss [{message['lang']}]: {message['text']!r} want {message['intent']}, got {found}")
    print("\nIntent accuracy (seed intents + the demo's tagged tickets; 'unknown' expected for thanks)")
    for key, (n, hits) in sorted(counts.items()):
        print(f"  {key:28} {pct(hits, n)}")


def duplicate_report(data: dict[str, list[dict[str, Any]]], misses: bool) -> None:
    scored = [(duplicates.score(p["first"], p["then"]), p["same"], p["split"], p) for p in data["duplicates"]]
    print(f"\nDuplicates (threshold {duplicates.THRESHOLD})    precision            recall")
    for split in ("tune", "held", "all"):
        chosen = [s for s in scored if split in ("all", s[2])]
        flagged = [s for s in chosen if s[0] >= duplicates.THRESHOLD]
        true_positive = sum(1 for s in flagged if s[1])
        positives = sum(1 for s in chosen if s[1])
        print(f"  {split:26} {pct(true_positive, len(flagged)):20} {pct(true_positive, positives):20}")
        best = 0.0
        for cut in sorted({s[0] for s in chosen}):
            above = [s for s in chosen if s[0] >= cut]
            tp = sum(1 for s in above if s[1])
            if above and tp / len(above) >= 0.95:
                best = max(best, tp / positives)
        print(f"  {split:5} best recall at precision ≥ 95 %: {100 * best:5.1f} %")
    if misses:
        for value, same, split, pair in sorted(scored, key=lambda s: s[0]):
            wrong = (value >= duplicates.THRESHOLD) != same
            print(f"  {'MISS ' if wrong else '     '}{value:6.3f} same={same!s:5} [{split}] {pair['then'][:70]!r}")


def arrival_report(workspace: Workspace, data: dict[str, list[dict[str, Any]]]) -> None:
    """The same pairs through the arrival path a new ticket takes: two tickets of one requester
    (the second created after the first, the subject a chat's: the start of the text), then
    ``arrival.flag_duplicates`` on the second — the requester, window and group rules and the
    note's once-per-ticket write included."""
    from supportdesk.assist import arrival
    from supportdesk.domain import write
    from supportdesk.domain.context import SYSTEM

    def create(text: str, email: str) -> str:
        args = {"subject": text[:60], "body": text, "requester": {"value": email}}
        return str(write.apply(workspace, "ticket.create", args, actor=SYSTEM).result["ticket_id"])

    outcomes: list[tuple[bool, bool, str]] = []
    for n, pair in enumerate(data["duplicates"]):
        email = f"pair{n}@eval.example"
        create(pair["first"], email)
        second = create(pair["then"], email)
        flagged = bool(arrival.flag_duplicates(workspace, [second], actor=SYSTEM))
        outcomes.append((flagged, pair["same"], pair["split"]))
    print("\nDuplicates on arrival (notes written)   precision            recall")
    for split in ("tune", "held", "all"):
        chosen = [o for o in outcomes if split in ("all", o[2])]
        noted = [o for o in chosen if o[0]]
        right = sum(1 for o in noted if o[1])
        print(f"  {split:34} {pct(right, len(noted)):20} {pct(right, sum(1 for o in chosen if o[1])):20}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--workspace", type=Path, help="copy this demo workspace instead of building one")
    parser.add_argument("--kb-only", action="store_true", help="only the KB suggestion table")
    args = parser.parse_args()
    data = load()
    folder = Path(tempfile.mkdtemp(prefix="assist-eval-"))
    try:
        if args.workspace:
            # a copy: the arrival report writes tickets, and the original stays as it was
            shutil.copytree(args.workspace, folder / "ws")
            workspace = Workspace.open(folder / "ws", create=False)
        else:
            workspace = Workspace.open(folder / "ws")
            build_demo(workspace, tickets=args.tickets, seed=7, now=parse_instant("2026-11-25T12:00:00Z"))
        with closing(workspace.connect()) as connection:
            kb_report(connection, data["kb"], args.misses)
            if args.kb_only:
                workspace.close()
                return
            language_report(data, args.misses)
            sentiment_report(data, args.misses)
            intent_report(connection, data, args.misses)
            duplicate_report(data, args.misses)
        arrival_report(workspace, data)
        workspace.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
