"""Start-up validation of every configuration file, and ``jointwatch check-config``.

``regions.toml`` and ``feeds.toml`` are validated by :func:`monitor.config.load_config`;
the other files are owned by the package that uses them and validated by its loader.
:func:`validate_all` runs every loader, so a mistake in any file stops every command at
start-up with the file and key named, before anything is ingested, decided or sent.
Secrets named in the files (SMTP login, dashboard cookie secret) are read from the
environment only by the commands that use them.
"""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Callable

from monitor.config import AppConfig, ConfigError

#: configuration file -> "module:function" loading it (imported lazily), called with the
#: AppConfig, or with the config directory when the target ends in "(dir)".
LOADERS: dict[str, str] = {
    "store.toml": "monitor.store_config:load_store_settings",
    "water.toml": "monitor.rules_config:load_water_rules(dir)",
    "warning.toml": "monitor.rules_config:load_warning_rules(dir)",
    "forecast.toml": "monitor.forecast_config:load_forecast_config",
    "alerts.toml": "alerts.config:load_alerts_config",
    "dashboard.toml": "dashboard.config:load_dashboard_config",
}


def _load(target: str, config: AppConfig) -> object:
    module_name, func_name = target.split(":")
    by_dir = func_name.endswith("(dir)")
    func: Callable[[object], object] = getattr(
        importlib.import_module(module_name), func_name.removesuffix("(dir)"))
    return func(config.config_dir if by_dir else config)


def validate_all(config: AppConfig) -> dict[str, object]:
    """Load every configuration file present; raise :class:`ConfigError` at the first mistake.

    A file that is absent is not an error here: a configuration directory for ingest only
    needs ``regions.toml`` and ``feeds.toml``; the command that needs an absent file says so.
    """
    return {name: _load(target, config) for name, target in LOADERS.items()
            if (config.config_dir / name).is_file()}


def cli_check_config(args: argparse.Namespace, config: AppConfig) -> int:
    """``jointwatch check-config``: validate every file and list what was checked."""
    files = ["regions.toml", "feeds.toml", *LOADERS]
    problems: dict[str, str] = {}
    for name, target in LOADERS.items():
        if not (config.config_dir / name).is_file():
            problems[name] = "absent (needed only by the commands that use it)"
            continue
        try:
            _load(target, config)
        except ConfigError as exc:
            problems[name] = str(exc)
    summary = {
        "config_dir": str(config.config_dir),
        "regions": sorted(config.regions),
        "feeds": sorted(config.feeds),
        "files": {name: problems.get(name, "ok") for name in files},
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print(f"configuration in {config.config_dir}")
        for name, state in summary["files"].items():
            print(f"  {name:<15} {state}")
    return 2 if any(not p.startswith("absent") for p in problems.values()) else 0
