"""``deploy/supportdesk.service`` and its environment file: systemd accepts the unit, it keeps
the hardening the README promises, and the example file names only variables ``serve`` reads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import get_type_hints

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNIT = DEPLOY / "supportdesk.service"
ENV_EXAMPLE = DEPLOY / "supportdesk.env.example"
#: Read by the program outside `serve`'s flags: the config file's path and the metrics token.
OTHER_VARIABLES = {"SUPPORTDESK_CONFIG", "SUPPORTDESK_METRICS_TOKEN"}


def sections(text: str) -> dict[str, list[tuple[str, str]]]:
    """The unit's sections as (key, value) lists, in order (systemd allows a key more than once)."""
    found: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = found.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"line {number} is outside a section"
        key, equals, value = line.partition("=")
        assert equals and re.fullmatch(r"[A-Za-z]+", key), f"line {number} is not Key=value: {raw!r}"
        current.append((key, value))
    return found


def values(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> list[str]:
    return [value for name, value in unit.get(section, []) if name == key]


def test_the_unit_runs_serve_hardened_and_restarts_on_failure() -> None:
    unit = sections(UNIT.read_text())
    assert set(unit) == {"Unit", "Service", "Install"}
    service = dict(unit["Service"])
    assert service["ExecStart"].endswith("/supportdesk serve"), "settings belong in the environment file"
    assert service["EnvironmentFile"] == "/etc/supportdesk/supportdesk.env"
    assert service["Restart"] == "on-failure"
    assert int(service["LimitNOFILE"]) >= 4096, "a thousand consoles hold a thousand streams"
    expected = {
        "DynamicUser": "yes",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectControlGroups": "yes",
        "RestrictSUIDSGID": "yes",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "StateDirectory": "supportdesk",
    }
    for key, value in expected.items():
        assert values(unit, "Service", key) == [value], key
    assert "@system-service" in values(unit, "Service", "SystemCallFilter")
    assert values(unit, "Install", "WantedBy") == ["multi-user.target"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    # verify checks that ExecStart's program exists: point it at this checkout's supportdesk
    program = Path(sys.executable).with_name("supportdesk")
    assert program.exists()
    environment = tmp_path / "supportdesk.env"
    environment.write_text(ENV_EXAMPLE.read_text())
    text = UNIT.read_text().replace("/opt/supportdesk/venv/bin/supportdesk", str(program))
    text = text.replace("/etc/supportdesk/supportdesk.env", str(environment))
    copy = tmp_path / "supportdesk.service"
    copy.write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True, timeout=120
    )
    ours = [line for line in (done.stdout + done.stderr).splitlines() if str(copy) in line or "supportdesk" in line]
    assert done.returncode == 0, done.stderr
    assert ours == [], ours


def test_a_broken_unit_is_caught(tmp_path: Path) -> None:
    """The structural check is not a formality: a typo'd line fails it."""
    with pytest.raises(AssertionError):
        sections(UNIT.read_text().replace("NoNewPrivileges=yes", "NoNewPrivileges yes"))


def serve_variables() -> set[str]:
    from supportdesk.cli.server import serve

    found = set()
    for hint in get_type_hints(serve, include_extras=True).values():
        for extra in getattr(hint, "__metadata__", ()):
            envvar = getattr(extra, "envvar", None)
            if isinstance(envvar, str):
                found.add(envvar)
    return found


def test_the_environment_example_names_only_variables_serve_reads() -> None:
    known = serve_variables()
    assert {"SUPPORTDESK_DB", "SUPPORTDESK_WORKERS", "SUPPORTDESK_POOL_SIZE"} <= known
    named = set(re.findall(r"^#?(SUPPORTDESK_[A-Z_]+)=", ENV_EXAMPLE.read_text(), re.M))
    assert {"SUPPORTDESK_DB", "SUPPORTDESK_WORKERS"} <= named
    assert named - known - OTHER_VARIABLES == set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        assert not line.strip() or line.startswith("#") or re.fullmatch(r"SUPPORTDESK_[A-Z_]+=\S*", line), line
