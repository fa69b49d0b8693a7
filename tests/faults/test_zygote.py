"""The fault harness's zygote answers every request, however the requests arrive."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.faults.zygote import Forked, Zygote


def test_a_run_written_right_behind_a_kill_is_still_forked(tmp_path: Path) -> None:
    # a kill and a run in one write, as two harness threads do when they follow each other
    # closely: the zygote once read the first line and left the second in its buffer for good
    zygote = Zygote()
    try:
        assert zygote.process.stdin is not None
        kill = {"kill": 999_999, "signal": signal.SIGKILL}  # not its child: ignored
        run = {"argv": ["--help"], "env": {}, "log": str(tmp_path / "help.log")}
        with zygote._lock, zygote._changed:
            zygote.process.stdin.write(json.dumps(kill) + "\n" + json.dumps(run) + "\n")
            zygote.process.stdin.flush()
            forked = zygote._changed.wait_for(lambda: bool(zygote._pids), timeout=120)
        assert forked, "the zygote never forked the run that came right behind a kill"
        assert Forked(zygote, zygote._pids[0]).wait(120) == 0
        assert "Usage" in (tmp_path / "help.log").read_text()
    finally:
        zygote.close()
