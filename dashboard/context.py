"""What every dashboard panel reads from: the configurations, the store and the alert state.

Built once by :func:`open_context` when the app starts; the panels' callbacks receive it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import Engine

from alerts.config import AlertsConfig, load_alerts_config
from alerts.state import open_state
from dashboard.config import DashboardConfig, load_dashboard_config
from monitor.config import AppConfig
from monitor.forecast_config import ForecastConfig, load_forecast_config
from monitor.rules_config import WarningRules, WaterRules, load_warning_rules, load_water_rules
from monitor.store import Store
from monitor.store_config import open_store

T = TypeVar("T")
#: Component ids every panel listens to: the page's refresh interval, and the store set
#: when an operator's action changed the alert state.
REFRESH = "refresh"
ALERT_CHANGED = "alert-changed"
#: Store-derived results kept in memory (see :meth:`DashboardContext.cached`).
RESULTS_KEPT = 256


@dataclass(frozen=True)
class DashboardContext:
    """Configurations and data sources of one dashboard instance."""

    config: AppConfig
    dashboard: DashboardConfig
    alerts: AlertsConfig
    store: Store
    engine: Engine
    water_rules: WaterRules
    warning_rules: WarningRules
    forecast: ForecastConfig
    #: Results computed from the store, by (what, arguments, store version); see :meth:`cached`.
    results: dict[tuple[Hashable, ...], Any] = field(default_factory=dict)

    @property
    def member_regions(self) -> list[str]:
        """The participating regions (``regions.toml``), in configured order."""
        return list(self.config.regions)

    def store_version(self) -> int:
        """Changes whenever a readings file is written (:meth:`Store.file_versions`)."""
        return hash(tuple(sorted(self.store.file_versions().items())))

    def cached(self, what: str, arguments: tuple[Hashable, ...], compute: Callable[[], T],
               *, per_store_version: bool = True) -> T:
        """``compute()``, or its result from an earlier call with the same ``what`` and
        ``arguments`` if no readings file was written since (or, with
        ``per_store_version=False``, whatever was written since: for results that
        ``arguments`` determine, such as a forecast from its origin).

        Every bureau's page refreshes every minute while the store changes about once an
        hour, so most refreshes are answered from here.  At most :data:`RESULTS_KEPT`
        results are kept (all are dropped when full).
        """
        key = (what, arguments, self.store_version() if per_store_version else None)
        if key in self.results:
            return cast(T, self.results[key])
        result = compute()
        if len(self.results) >= RESULTS_KEPT:
            self.results.clear()
        self.results[key] = result
        return result


def open_context(config: AppConfig, data_dir: Path | str) -> DashboardContext:
    """Validate every configuration the dashboard uses and open the store (placed as
    ``store.toml`` says, like the CLI) and the alert state.

    Raises
    ------
    monitor.config.ConfigError
        for a missing or invalid configuration file, naming file and key.
    """
    dashboard = load_dashboard_config(config)
    alerts = load_alerts_config(config)
    water_rules = load_water_rules(config.config_dir)
    warning_rules = load_warning_rules(config.config_dir)
    forecast = load_forecast_config(config)
    data = Path(data_dir)
    return DashboardContext(
        config=config, dashboard=dashboard, alerts=alerts, store=open_store(config, data),
        engine=open_state(alerts.state_url(data)), water_rules=water_rules,
        warning_rules=warning_rules, forecast=forecast,
    )
