"""Kill a real jointwatch subprocess at a store crash point (``monitor.crashpoints``)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from monitor.crashpoints import HOLD_ENV


def kill_at_hold_point(command: Sequence[str], point: str, marker: Path, cwd: Path,
                       env: Mapping[str, str] | None = None) -> None:
    """Run ``command`` with the hold hook at ``point``; SIGKILL it once it is held there.

    The child writes ``marker`` and sleeps when it reaches ``point``, so the kill lands
    there deterministically.  Fails if the child ends before reaching the point.
    """
    marker.unlink(missing_ok=True)
    child_env = {**os.environ, **(env or {}), HOLD_ENV: f"{point}:{marker}"}
    child = subprocess.Popen(list(command), cwd=cwd, env=child_env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        while not marker.exists():
            if child.poll() is not None:
                raise AssertionError(f"{command[-1]!r}... ended before reaching {point!r}: "
                                     f"{child.stderr.read() if child.stderr else ''}")
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL
