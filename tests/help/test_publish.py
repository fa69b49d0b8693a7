"""Publishing articles (``article.publish``, ``kb publish``/``unpublish``) and counting votes
(``article.vote``) on the write path, and the ``[help]`` settings' refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supportdesk.config import ConfigError
from supportdesk.domain import write
from supportdesk.domain.context import Actor
from supportdesk.domain.errors import DomainError, NotFound
from supportdesk.server.help.settings import HelpSettings
from supportdesk.store.enums import Role
from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI, cli, ws  # noqa: F401  (fixtures)


def _article(workspace: Workspace) -> str:
    outcome = write.apply(workspace, "article.create", {"title": "Reset your password", "body": "Press Forgot."})
    assert outcome.ok, outcome.error
    return str(outcome.result["article_id"])


def _row(workspace: Workspace, article_id: str) -> tuple[int, str, int, int]:
    with workspace.reading() as connection:
        row = connection.execute(
            "SELECT public, section, helpful_votes, unhelpful_votes FROM kb_article WHERE id = ?", (article_id,)
        ).fetchone()
    return (int(row[0]), row[1], int(row[2]), int(row[3]))


def test_publish_and_take_down(workspace: Workspace) -> None:
    article = _article(workspace)
    assert _row(workspace, article)[:2] == (0, "")
    published = write.apply(workspace, "article.publish", {"article_id": article, "section": "  Account\x1b[31m "})
    assert published.ok and published.result["changed"] == ["public", "section"]
    public, section, _, _ = _row(workspace, article)
    assert public == 1 and section.startswith("Account") and "\x1b" not in section
    write.apply(workspace, "article.publish", {"article_id": article, "public": False})
    assert _row(workspace, article)[:2][0] == 0
    with pytest.raises(NotFound):
        write.apply(workspace, "article.publish", {"article_id": "nope"})


def test_votes_are_the_servers_and_count_public_articles_only(workspace: Workspace) -> None:
    article = _article(workspace)
    with pytest.raises(NotFound):  # not public yet
        write.apply(workspace, "article.vote", {"article_id": article, "helpful": True})
    write.apply(workspace, "article.publish", {"article_id": article})
    assert write.apply(workspace, "article.vote", {"article_id": article, "helpful": True}).ok
    assert write.apply(workspace, "article.vote", {"article_id": article, "helpful": False}).ok
    assert _row(workspace, article)[2:] == (1, 1)
    changed = write.apply(workspace, "article.vote", {"article_id": article, "helpful": True, "replaces": False})
    assert changed.ok and _row(workspace, article)[2:] == (2, 0)
    same = write.apply(workspace, "article.vote", {"article_id": article, "helpful": True, "replaces": True})
    assert same.ok and _row(workspace, article)[2:] == (2, 0)
    agent = Actor(id="agent-1", name="Sam", role=Role.AGENT)
    with pytest.raises(DomainError):
        write.apply(workspace, "article.vote", {"article_id": article, "helpful": True}, actor=agent)
    assert _row(workspace, article)[2:] == (2, 0)


def test_kb_publish_and_unpublish_commands(cli: CLI, ws: Workspace) -> None:  # noqa: F811
    with ws.reading() as connection:
        slug = connection.execute("SELECT slug FROM kb_article ORDER BY slug LIMIT 1").fetchone()[0]
    shown = cli("kb", "publish", slug, "--section", "Billing")
    assert shown.code == 0 and shown.stdout.strip() == f"{slug}: shown in the help center"
    assert cli("kb", "publish", slug).stdout.strip() == f"{slug}: already in the help center"
    with ws.reading() as connection:
        assert tuple(
            connection.execute("SELECT public, section FROM kb_article WHERE slug = ?", (slug,)).fetchone()
        ) == (1, "Billing")
    assert cli("kb", "unpublish", slug).stdout.strip() == f"{slug}: taken down from the help center"
    missing = cli("kb", "publish", "no-such-article")
    assert missing.code == 3 and "no article no-such-article" in missing.stderr


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"colour": "red; background: url(x)"}, "colour must be a colour"),
        ({"brand": 3}, "brand must be a string"),
        ({"form_per_ip": -1}, "form_per_ip must be a whole number"),
        ({"languages": ["en", "fr"]}, "languages must be a list"),
        ({"colur": "#fff"}, "has no setting 'colur'"),
        ({"enabled": "yes"}, "enabled must be true or false"),
    ],
)
def test_settings_refuse_what_would_break_a_page(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        HelpSettings.from_section(section)


def test_a_logo_must_be_a_small_raster_image(tmp_path: Path) -> None:
    svg = tmp_path / "logo.svg"
    svg.write_text("<svg onload='alert(1)'/>")
    with pytest.raises(ConfigError, match="logo must be a"):
        HelpSettings.from_section({"logo": str(svg)})
    with pytest.raises(ConfigError, match=r"logo .*missing\.png"):
        HelpSettings.from_section({"logo": str(tmp_path / "missing.png")})
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (600 * 1024))
    with pytest.raises(ConfigError, match="larger than 512 KiB"):
        HelpSettings.from_section({"logo": str(big)})


def test_settings_fall_back_to_the_channels_secret() -> None:
    assert HelpSettings.from_section({}, fallback_secret="s3cret").secret == "s3cret"
    assert HelpSettings.from_section({"secret": "mine"}, fallback_secret="s3cret").secret == "mine"


def test_kb_files_carry_the_help_center_flag(cli: CLI, ws: Workspace, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "kb"
    (folder).mkdir()
    (folder / "track-a-parcel.md").write_text(
        "---\ntitle: Track a parcel\npublic: true\nsection: Orders\n---\nOpen **Orders**.\n", encoding="utf-8"
    )
    imported = cli("kb", "import", str(folder))
    assert imported.code == 0, imported.stderr
    shown_out = cli("kb", "show", "track-a-parcel", "--json")
    assert shown_out.code == 0, shown_out.stderr
    shown = json.loads(shown_out.stdout)
    assert (shown["public"], shown["section"]) == (True, "Orders")
    exported = tmp_path / "out"
    assert cli("kb", "export", str(exported)).code == 0
    text = (exported / "track-a-parcel.md").read_text(encoding="utf-8")
    assert "public: true" in text and "section: Orders" in text
    (exported / "track-a-parcel.md").write_text(text.replace("public: true", "public: false"), encoding="utf-8")
    assert cli("kb", "import", str(exported)).stdout.startswith("created 0, updated 1,")
    with ws.reading() as connection:
        assert connection.execute("SELECT public FROM kb_article WHERE slug = 'track-a-parcel'").fetchone()[0] == 0
    (exported / "track-a-parcel.md").write_text(text.replace("public: true", "public: maybe"), encoding="utf-8")
    refused = cli("kb", "import", str(exported))
    assert refused.code != 0 and "public must be true or false" in refused.stderr
