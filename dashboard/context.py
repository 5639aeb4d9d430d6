"""What every dashboard panel reads from: the configurations, the store and the alert state.

Built once by :func:`open_context` when the app starts; the panels' callbacks receive it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from alerts.config import AlertsConfig, load_alerts_config
from alerts.state import open_state
from dashboard.config import DashboardConfig, load_dashboard_config
from monitor.config import AppConfig
from monitor.forecast_config import ForecastConfig, load_forecast_config
from monitor.rules_config import WarningRules, WaterRules, load_warning_rules, load_water_rules
from monitor.store import Store


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

    @property
    def member_regions(self) -> list[str]:
        """The participating regions (``regions.toml``), in configured order."""
        return list(self.config.regions)


def open_context(config: AppConfig, data_dir: Path | str) -> DashboardContext:
    """Validate every configuration the dashboard uses and open the store and alert state.

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
        config=config, dashboard=dashboard, alerts=alerts, store=Store(data),
        engine=open_state(alerts.state_url(data)), water_rules=water_rules,
        warning_rules=warning_rules, forecast=forecast,
    )
