"""Command-line arguments of ``forecast``, ``decide`` and ``backtest``.

Kept apart from :mod:`monitor.forecast_cli` so that building the parser imports neither
pandas nor statsmodels.
"""

from __future__ import annotations

import argparse

#: Backtest modes (labels as in :mod:`monitor.forecast`, repeated here to stay import-light).
BACKTEST_MODES: tuple[str, ...] = ("history-only", "perfect-prognosis")


def forecast_args(p: argparse.ArgumentParser) -> None:
    """Arguments of ``forecast`` and ``decide``."""
    p.add_argument("--region", metavar="AREA_OR_REGION",
                   help="joint-control area of forecast.toml [decision.areas], or a region id "
                   "(default: [decision] default_area)")
    p.add_argument("--issue-time", metavar="T", help="issue time, ISO 8601 (default: now; "
                   "naive times are local to the area)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--stations", action="store_true",
                   help="also forecast each station of the member cities")


def backtest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region", required=True, help="region id of the city")
    p.add_argument("--city", help="city name as in regions.toml (default: the region's first)")
    p.add_argument("--start", required=True, help="first origin (local date)")
    p.add_argument("--end", required=True, help="last origin (local date)")
    p.add_argument("--mode", choices=BACKTEST_MODES, default=BACKTEST_MODES[0])
    p.add_argument("--model", help="[models.NAME] of forecast.toml to use instead of the chosen")
    p.add_argument("--grading", choices=("point", "upper", "probability"),
                   help="grading basis instead of forecast.toml [grading] basis")
    p.add_argument("--rule-set", help="grade every origin under this warning.toml rule set "
                   "(default: the set in force for the region on each origin)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
