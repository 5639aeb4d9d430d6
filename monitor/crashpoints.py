"""Test hook for crash-safety tests: make a writer stop at a named point so it can be killed.

With ``JOINTWATCH_TEST_HOLD=<point>:<marker file>`` in the environment, a writer that
reaches ``<point>`` writes its pid to the marker file and sleeps, so a test can SIGKILL
it exactly there.  Points of the store (:mod:`monitor.store`, :mod:`monitor.partitions`):

``temp``
    a day file's new version is written to its hidden temporary file, not yet renamed;
``partition``
    a day file has just been replaced (others of the batch may still be pending);
``ledger``
    all readings of a batch are durable, its ledger rows are not yet committed.

Without the variable (the normal case) :func:`hold_point` does nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

#: Environment variable naming the point and the marker file.
HOLD_ENV = "JOINTWATCH_TEST_HOLD"


def hold_point(point: str) -> None:
    """Write the marker file and wait if ``$JOINTWATCH_TEST_HOLD`` names ``point``."""
    spec = os.environ.get(HOLD_ENV)
    if not spec:
        return
    name, _, marker = spec.partition(":")
    if name == point:
        Path(marker).write_text(str(os.getpid()))
        time.sleep(3600)
