"""The ``jointwatch`` command line: the one place that wires the packages together.

Each sub-command names the function that runs it as ``"module:function"``; the module
is imported only when that command runs, so ``jointwatch stations`` never loads dash
or statsmodels.  A command function takes ``(args, config)`` and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from monitor.config import ConfigError, load_config
from monitor.config_check import validate_all
from monitor.forecast_args import backtest_args, forecast_args

Setup = Callable[[argparse.ArgumentParser], None]


def _ingest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("feeds", nargs="*", metavar="FEED", help="feed ids (default: all)")
    p.add_argument("--json", action="store_true", help="print the counts as one JSON object")
    p.add_argument("--backfill", metavar="PATH_OR_GLOB",
                   help="harmonize an archive with dask (bounded memory)")
    p.add_argument("--dask-scheduler", metavar="tcp://HOST:PORT",
                   help="run the backfill on a dask.distributed cluster "
                        "(default: $JOINTWATCH_DASK_SCHEDULER, else local cores)")


def _json_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _status_args(p: argparse.ArgumentParser) -> None:
    _json_arg(p)
    p.add_argument("--now", metavar="TIME", help="judge staleness at this time "
                   "(ISO 8601, naive = UTC; default: the current time)")


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", required=True, choices=("csv", "parquet", "netcdf", "zarr"))
    p.add_argument("--out", required=True, metavar="PATH",
                   help="file to write (a directory for zarr); an existing file is replaced")
    for name, what in (("regions", "region ids"), ("stations", "station ids"),
                       ("parameters", "parameters (pm25,o3,...)"),
                       ("periods", "averaging periods (1h,24h,...)"), ("sources", "feed ids")):
        p.add_argument(f"--{name}", type=_comma_list, action="extend", metavar="A,B",
                       help=f"only these {what}; comma-separated or repeated")
    p.add_argument("--start", metavar="TIME", help="from this time, inclusive "
                   "(ISO 8601, naive = UTC)")
    p.add_argument("--end", metavar="TIME", help="until this time, inclusive "
                   "(ISO 8601, naive = UTC)")
    p.add_argument("--flags", type=_comma_list, default=["valid"], metavar="FLAGS",
                   help="QC flags to include: valid (default), suspect, invalid, "
                        "comma-separated, or all (every reading, with its flag)")
    p.add_argument("--wide", action="store_true",
                   help="csv/parquet: one column per parameter and period")
    _json_arg(p)


def _consult_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--now", nargs="?", const="now", metavar="TIME",
                   help="run one consultation now (or as of TIME, ISO 8601 with offset)")
    p.add_argument("--level", help="regional level given by hand: none (lift), blue, yellow, "
                   "orange, red (default: the configured decision source, i.e. the forecast)")
    p.add_argument("--regions", help="comma-separated region ids for --level "
                   "(default: every region in alerts.toml)")
    p.add_argument("--no-send", action="store_true", help="queue the notices, do not send")


def _confirm_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("issuance", metavar="ID", help="issuance id")
    p.add_argument("--by", help="who confirms (default: the login name)")
    p.add_argument("--level", help="override: issue this level instead (needs --reason)")
    p.add_argument("--reason", help="why the level is overridden")


def _notices_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--issuance", metavar="ID", help="only this issuance")
    p.add_argument("--limit", type=int, default=20, help="latest N issuances (default 20)")
    _json_arg(p)


def _dashboard_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="address to listen on (default: dashboard.toml, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: dashboard.toml, 8050)")


def _no_args(p: argparse.ArgumentParser) -> None:
    del p


#: name -> (help, "module:function", argument setup)
COMMANDS: dict[str, tuple[str, str, Setup]] = {
    "ingest": ("ingest the configured feeds into the store", "ingest.pipeline:cli_ingest",
               _ingest_args),
    "stations": ("print the station table", "ingest.pipeline:cli_stations", _json_arg),
    "quarantine": ("print what was refused and why", "ingest.pipeline:cli_quarantine",
                   _json_arg),
    "status": ("latest reading per feed and region; stale feeds marked",
               "ingest.pipeline:cli_status", _status_args),
    "check-config": ("validate every configuration file and list them",
                     "monitor.config_check:cli_check_config", _json_arg),
    "export": ("export readings for analysts (CSV, Parquet, CF-NetCDF, Zarr)",
               "monitor.export:cli_export", _export_args),
    "consult": ("run one warning consultation now; issue and send if the level changed",
                "alerts.cli:cli_consult", _consult_args),
    "scheduler": ("run scheduled consultations and the notice sender (Ctrl-C / SIGTERM stop)",
                  "alerts.cli:cli_scheduler", _no_args),
    "confirm": ("confirm a pending issuance, or override its level with a reason",
                "alerts.cli:cli_confirm", _confirm_args),
    "send": ("run the notice sender once (due notices and retries)", "alerts.cli:cli_send",
             _no_args),
    "notices": ("notice table: issuance, level, region, status, attempts, delivered at, "
                "sync spread", "alerts.cli:cli_notices", _notices_args),
    "dashboard": ("serve the shared dashboard (default http://127.0.0.1:8050/)",
                  "dashboard.app:cli_dashboard", _dashboard_args),
    "forecast": ("per-city daily AQI forecasts with intervals and probabilities, city grades "
                 "and the regional decision", "monitor.forecast_cli:cli_forecast",
                 forecast_args),
    "decide": ("the regional warning decision only", "monitor.forecast_cli:cli_decide",
               forecast_args),
    "backtest": ("rolling-origin backtest of a city's forecasts against persistence and "
                 "climatology", "monitor.forecast_cli:cli_backtest", backtest_args),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jointwatch",
        description="Cross-regional pollution joint-control monitoring.",
    )
    parser.add_argument("--config", metavar="DIR", help="configuration directory "
                        "(default: the project's config/)")
    parser.add_argument("--data-dir", metavar="DIR", help="data directory "
                        "(default: $JOINTWATCH_HOME, else ./var)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, target, setup) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(target=target)
        setup(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = load_config(args.config)
        if args.command != "check-config":  # which reports every file, not just the first
            validate_all(config)
    except ConfigError as exc:
        print(f"jointwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    module_name, func_name = args.target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(func(args, config) or 0)
    except ConfigError as exc:  # a command's own configuration file (store.toml ...)
        print(f"jointwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
