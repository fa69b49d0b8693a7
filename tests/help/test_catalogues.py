"""The help center's text: every message has its German translation, and the shipped .mo files
say what the .po sources say (a .po edited without ``make help-catalogues`` fails here)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from supportdesk.server.help import i18n
from supportdesk.server.help.settings import LANGUAGES

HELP = Path(i18n.__file__).parent


def _source_messages() -> set[str]:
    method_map = [("templates/**.html", "jinja2"), ("**.py", "python")]
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(HELP), method_map):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_language_translates_every_message() -> None:
    wanted = _source_messages()
    assert "Was this helpful?" in wanted and len(wanted) > 40
    for language in LANGUAGES:
        if language == "en":
            continue
        with (HELP / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalogue = read_po(po)
        translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue if m.id and m.string}
        fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
        assert wanted - translated == set(), language
        assert fuzzy == [], language
        for message in catalogue:
            if message.id and isinstance(message.id, str) and "%(" in message.id:
                assert re.findall(r"%\(\w+\)[ds]", message.id) == re.findall(r"%\(\w+\)[ds]", str(message.string))


def test_the_shipped_mo_matches_its_po() -> None:
    for language in LANGUAGES:
        if language == "en":
            continue
        folder = HELP / "locales" / language / "LC_MESSAGES"
        with (folder / "messages.po").open("rb") as po:
            source = read_po(po)
        compiled = io.BytesIO()
        write_mo(compiled, source)
        compiled.seek(0)
        with (folder / "messages.mo").open("rb") as mo:
            shipped = read_mo(mo)

        def pairs(catalogue: Catalog) -> dict[str, str]:
            return {repr(m.id): repr(m.string) for m in catalogue if m.id}

        assert pairs(read_mo(compiled)) == pairs(shipped)


def test_language_choice() -> None:
    offered = ("en", "de")
    assert i18n.choose_language(offered, query=None, cookie=None, accept="de-AT,de;q=0.9,en;q=0.5") == "de"
    assert i18n.choose_language(offered, query=None, cookie=None, accept="fr, en;q=0.1, de;q=0.5") == "de"
    assert i18n.choose_language(offered, query="en", cookie="de", accept="de") == "en"
    assert i18n.choose_language(offered, query="xx", cookie="de", accept="en") == "de"
    assert i18n.choose_language(offered, query=None, cookie=None, accept="de;q=0, x;q=abc") == "en"
    assert i18n.choose_language(offered, query=None, cookie=None, accept="," * 10_000) == "en"
    assert i18n.translations("de").gettext("Yes") == "Ja"
