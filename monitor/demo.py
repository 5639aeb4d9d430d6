"""``./jw demo``: the main job on the bundled sample data, step by step.

Every step is an ordinary ``jointwatch`` command (the same code an operator runs), so the
demo shows exactly what the CLI does.  The data directory is ``--data-dir``, else
``$JOINTWATCH_HOME``, else ``./var``.  Notices go to a mail sink on 127.0.0.1:8025 that
this demo runs for its own duration and that files every message under
``<data dir>/mail/`` (a Maildir), so no mail server is needed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from monitor.cli import main as jointwatch
from monitor.config import data_dir

#: (title, jointwatch arguments after the global options)
STEPS: tuple[tuple[str, list[str]], ...] = (
    ("Ingest the bundled sample feeds", ["ingest"]),
    ("Data freshness per feed and region", ["status"]),
    # issued inside the bundled sample's year (2016-03 .. 2017-02), in the Jan 2017 haze; the
    # sample has Beijing stations only (`--region jjj` shows the other cities as no data)
    ("Forecast of daily AQI, days 1-4, per city",
     ["forecast", "--region", "beijing", "--issue-time", "2017-01-02T10:00"]),
    ("Regional warning decision from the forecast",
     ["decide", "--region", "beijing", "--issue-time", "2017-01-02T10:00"]),
    # The scheduled consultation decides for the whole jjj area (k of n cities); the sample
    # holds forecastable history for Beijing only, so the demo's consultation takes the level
    # by hand, as the coordinating centre may, and every region gets the same issuance.
    ("Consultation (level given by hand): issue and send the synchronized notices",
     ["consult", "--now", "2017-01-02T10:00+08:00", "--level", "red",
      "--regions", "beijing,tianjin,hebei"]),
    ("Notice log with delivery status", ["notices"]),
)


def mail_sink(folder: Path, port: int = 8025) -> AbstractContextManager[object]:
    """A local SMTP server on 127.0.0.1 filing every message into a Maildir."""
    try:
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Mailbox
    except ImportError:  # pragma: no cover - aiosmtpd is a dependency
        return nullcontext()
    folder.parent.mkdir(parents=True, exist_ok=True)  # the Maildir itself is made by Mailbox
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command log

    class _Sink(AbstractContextManager[object]):
        def __enter__(self) -> object:
            self.controller = Controller(Mailbox(str(folder)), hostname="127.0.0.1", port=port)
            self.controller.start()
            return self.controller

        def __exit__(self, *exc: object) -> None:
            self.controller.stop()

    return _Sink()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./jw demo", description=__doc__)
    parser.add_argument("--data-dir", help="data directory (default: $JOINTWATCH_HOME or ./var)")
    args = parser.parse_args(argv)
    home = data_dir(args.data_dir)
    common = ["--data-dir", str(home)]
    with mail_sink(home / "mail"):
        for number, (title, command) in enumerate(STEPS, start=1):
            print(f"\n== {number}. {title}: jointwatch {' '.join(command)}", flush=True)
            code = jointwatch([*common, *command])
            if code != 0:
                print(f"demo: step {number} failed with exit code {code}", file=sys.stderr)
                return code
    print(f"\nData directory: {home}  (mail sink: {home / 'mail'})")
    print("Next, the dashboard (README: Dashboard): export JOINTWATCH_DASHBOARD_SECRET=..., then "
          "`.venv/bin/jointwatch dashboard` and open http://127.0.0.1:8050")
    return 0


if __name__ == "__main__":
    sys.exit(main())
