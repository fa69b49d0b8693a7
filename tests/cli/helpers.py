"""Run the real ``supportdesk`` command in a subprocess, as a script would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def supportdesk(
    *args: str, workspace: Path | None = None, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "supportdesk"]
    if workspace is not None:
        command += ["--workspace", str(workspace)]
    return subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )
