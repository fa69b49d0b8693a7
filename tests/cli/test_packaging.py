"""What each kind of install brings: agents get the console and CLI without the server stack or
test tools, and a server command on such a machine says which extra it needs."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from supportdesk.cli.errors import SERVER_EXTRA

PYPROJECT = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())


def _names(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        name = requirement.split(";")[0]
        for stop in "<>=![ ":
            name = name.split(stop)[0]
        names.add(name.strip().lower().replace("_", "-"))
    return names


def test_an_agents_install_has_no_server_stack_and_no_test_tools() -> None:
    core = _names(PYPROJECT["project"]["dependencies"])
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert not core & {"fastapi", "uvicorn", "psycopg", "aiosmtpd", "starlette"}
    assert {"fastapi", "uvicorn", "psycopg", "aiosmtpd"} <= _names(extras["server"])
    assert "keyrings.alt" not in core | _names(extras["server"])  # a plaintext keyring only in [dev]
    assert "keyrings.alt" in _names(extras["dev"])
    assert not any(line.startswith("textual==") for line in PYPROJECT["project"]["dependencies"])


def test_a_server_command_without_the_server_extra_names_it(tmp_path: Path) -> None:
    probe = (
        "import sys; sys.modules['fastapi'] = None; sys.modules['uvicorn'] = None\n"
        f"sys.argv = ['supportdesk', 'serve', '--db', {str(tmp_path / 'server.db')!r}]\n"
        "from supportdesk.cli.main import run; run()"
    )
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert ran.returncode == 2
    assert ran.stderr.startswith("supportdesk: error: this command needs the team server's packages (missing: ")
    assert ran.stderr.rstrip().endswith("pip install 'supportdesk[server]'")
    assert "Traceback" not in ran.stderr
    assert {"fastapi", "uvicorn", "psycopg", "aiosmtpd"} <= SERVER_EXTRA
