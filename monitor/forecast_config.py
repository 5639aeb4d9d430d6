"""Configuration of forecasting, verification and the regional decision: ``config/forecast.toml``.

Sections (see the shipped ``config/forecast.toml`` for a commented example):

``[forecast]``
    horizon, minimum history, how often parameters are re-estimated, Monte Carlo draws,
    and ``weather_source`` (the store ``source`` whose ``temp pres dewp rain wspd`` readings
    are the weather forecast; absent = history-only forecasts).
``[models.<name>]``
    candidate model specifications (SARIMAX orders, calendar terms, weather inputs);
    ``[forecast] history_only_model`` and ``with_weather_model`` name the chosen ones: those
    with the lowest error in ``jointwatch backtest --model NAME`` on a validation period
    before the test period.
``[grading]``
    which value of the forecast distribution is graded: ``point``, ``upper`` (upper bound of
    the ``interval`` interval, the practice of the 2016 regional standard) or ``probability``
    (a grade threshold counts as reached when P(AQI > threshold) >= ``probability``).
``[decision]``
    regional rule (``k_of_n`` with ``k``, or ``share`` with ``share``), lead time to the common
    effective start, and ``[decision.areas]``: joint-control areas as lists of region ids.

Every error names the file and the key (:class:`monitor.config.ConfigError`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.config import AppConfig, ConfigError, read_toml, validate_model

#: File name of the forecast configuration inside the config directory.
FORECAST_FILE = "forecast.toml"
#: Weather parameters a model may take as exogenous input (canonical names).
WEATHER_INPUTS: tuple[str, ...] = ("temp", "pres", "dewp", "rh", "rain", "wspd")
#: Weather input derived from ``wspd`` and ``wdir`` (see :mod:`monitor.forecast_inputs`).
WIND_NORTH = "wind_north"
#: Store parameters the weather inputs are computed from.
WEATHER_PARAMETERS: tuple[str, ...] = (*WEATHER_INPUTS, "wdir")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    """One statsmodels SARIMAX specification (regression with ARMA errors on log values)."""

    #: Non-seasonal ARIMA order (p, d, q) of the errors.
    order: tuple[int, int, int] = (1, 0, 1)
    #: Sine/cosine pairs of the annual cycle in the regression.
    annual_harmonics: int = Field(default=2, ge=0, le=6)
    #: Sine/cosine pair of the weekly cycle in the regression.
    weekly: bool = False
    #: Same-day weather inputs (observed in perfect-prognosis mode, forecast operationally).
    weather: tuple[Literal["temp", "pres", "dewp", "rh", "rain", "wspd", "wind_north"],
                    ...] = ()
    #: Also give the model the day-to-day change of each weather input.
    weather_changes: bool = False
    #: Daily AQI point forecast: ``mean`` = the AQI of the point (mean) concentrations;
    #: ``median`` = the median of the AQI predictive distribution, so that the event
    #: "AQI > T" is forecast exactly when P(AQI > T) >= 0.5.  (Not used in estimation.)
    aqi_point: Literal["mean", "median"] = "mean"


class ForecastSettings(_Strict):
    horizon_days: int = Field(default=4, ge=1, le=10)
    #: A series with fewer valid days than this gets an "insufficient data" result.
    min_history_days: int = Field(default=180, ge=30)
    #: Days of readings read before the issue day.
    history_days: int = Field(default=1096, ge=60)
    #: Cached parameters older than this are re-estimated.
    refit_every_days: int = Field(default=30, ge=1)
    monte_carlo_draws: int = Field(default=2000, ge=100)
    history_only_model: str = "history_only"
    with_weather_model: str = "with_weather"
    weather_source: str | None = None


class Grading(_Strict):
    basis: Literal["point", "upper", "probability"] = "upper"
    interval: Literal[80, 95] = 80
    probability: float = Field(default=0.5, gt=0, lt=1)


class DecisionSettings(_Strict):
    rule: Literal["k_of_n", "share"] = "k_of_n"
    k: int = Field(default=2, ge=1)
    share: float = Field(default=0.5, gt=0, le=1)
    lead_hours: int = Field(default=24, ge=24)
    #: Count cities under this rule set (``warning.toml`` id) instead of their own ones.
    area_rule_set: str | None = None
    #: Area (or region) decided by scheduled consultations.
    default_area: str | None = None
    #: Joint-control areas: area id -> member region ids.
    areas: dict[str, tuple[str, ...]] = Field(default_factory=dict)


class ForecastConfig(_Strict):
    """The validated ``forecast.toml``."""

    forecast: ForecastSettings = ForecastSettings()
    models: dict[str, ModelSpec] = Field(
        default_factory=lambda: {"history_only": ModelSpec(), "with_weather": ModelSpec()})
    grading: Grading = Grading()
    decision: DecisionSettings = DecisionSettings()

    @model_validator(mode="after")
    def _chosen_models_exist(self) -> ForecastConfig:
        for key in ("history_only_model", "with_weather_model"):
            name = getattr(self.forecast, key)
            if name not in self.models:
                raise ValueError(f"forecast.{key}: no [models.{name}]; "
                                 f"defined: {', '.join(sorted(self.models))}")
        return self

    def model(self, with_weather: bool) -> ModelSpec:
        """The chosen specification for forecasts with or without a weather input."""
        name = self.forecast.with_weather_model if with_weather else \
            self.forecast.history_only_model
        return self.models[name]


def load_forecast_config(config: AppConfig) -> ForecastConfig:
    """Load ``forecast.toml`` from the config directory and check it against ``config``.

    Raises
    ------
    ConfigError
        naming the file and the key: invalid values, unknown model names, areas naming
        regions that ``regions.toml`` does not define.
    """
    path = config.config_dir / FORECAST_FILE
    raw = read_toml(path) if path.exists() else {}
    loaded = validate_model(ForecastConfig, raw, path)
    default = loaded.decision.default_area
    if default is not None and default not in loaded.decision.areas and \
            default not in config.regions:
        raise ConfigError(f"{path}: decision.default_area: {default!r} is neither an area nor "
                          "a region")
    for area, members in loaded.decision.areas.items():
        unknown = [r for r in members if r not in config.regions]
        if unknown:
            raise ConfigError(f"{path}: decision.areas.{area}: unknown regions {unknown}; "
                              f"configured: {', '.join(sorted(config.regions))}")
    return loaded
