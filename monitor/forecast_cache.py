"""Cache of fitted forecast models on disk, and the refit-or-update decision.

One JSON file per (series, mode) under ``<data dir>/forecast_models/``: the model
specification, per pollutant the estimated parameters, the day estimation stopped, and the
Kalman filter state; plus the correlation of the pollutants' forecast errors.  A run loads
it, assimilates the days since its state (:func:`monitor.forecast.forecast_series`) and
writes it back; parameters are re-estimated only when they are older than
``refit_every_days``, when the specification changed, or when the cached state is already
past the requested origin (a forecast for an earlier issue time never reads later data).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from monitor.forecast import SeriesModels, fit_series
from monitor.forecast_config import ForecastSettings, ModelSpec
from monitor.forecast_models import FittedModel

#: Sub-directory of the data directory holding the cached models.
CACHE_DIR = "forecast_models"
#: Version of the file layout; files of another version are ignored and refitted.
CACHE_VERSION = 1


def _day(value: str) -> pd.Timestamp:
    return pd.Timestamp(value)


def models_to_dict(models: SeriesModels, mode: str) -> dict[str, Any]:
    """JSON-serialisable form of ``models`` (see :func:`models_from_dict`)."""
    return {
        "version": CACHE_VERSION, "series_id": models.series_id, "mode": mode,
        "trained_until": models.trained_until.date().isoformat(),
        "correlation": np.asarray(models.correlation).tolist(),
        "insufficient": models.insufficient,
        "models": {p: {"spec": m.spec.model_dump(mode="json"), "params": list(m.params),
                       "trained_until": m.trained_until.date().isoformat(),
                       "n_valid": m.n_valid, "state_until": m.state_until.date().isoformat(),
                       "state_mean": list(m.state_mean),
                       "state_cov": [list(row) for row in m.state_cov]}
                   for p, m in models.models.items()},
    }


def models_from_dict(data: dict[str, Any]) -> SeriesModels:
    """Inverse of :func:`models_to_dict`."""
    fitted = {
        p: FittedModel(pollutant=p, spec=ModelSpec.model_validate(m["spec"]),
                       params=tuple(m["params"]), trained_until=_day(m["trained_until"]),
                       n_valid=int(m["n_valid"]), state_until=_day(m["state_until"]),
                       state_mean=tuple(m["state_mean"]),
                       state_cov=tuple(tuple(row) for row in m["state_cov"]))
        for p, m in data["models"].items()
    }
    return SeriesModels(series_id=data["series_id"], models=fitted,
                        correlation=np.asarray(data["correlation"], dtype=np.float64),
                        trained_until=_day(data["trained_until"]),
                        insufficient=dict(data["insufficient"]))


class ModelCache:
    """Fitted models of many series under ``<data_dir>/forecast_models``."""

    def __init__(self, data_dir: Path | str) -> None:
        self.root = Path(data_dir) / CACHE_DIR

    def path(self, series_id: str, mode: str) -> Path:
        """File of one series and mode (hashed name: ids may hold any characters)."""
        digest = hashlib.sha1(f"{mode}\0{series_id}".encode()).hexdigest()[:16]
        return self.root / f"{mode}-{digest}.json"

    def load(self, series_id: str, mode: str) -> SeriesModels | None:
        """The cached models, or None when absent or written by another layout version."""
        path = self.path(series_id, mode)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: cached forecast model is not valid JSON: {exc}") from None
        if data.get("version") != CACHE_VERSION or data.get("series_id") != series_id:
            return None
        return models_from_dict(data)

    def save(self, models: SeriesModels, mode: str) -> Path:
        """Write atomically (temporary file, then rename)."""
        path = self.path(models.series_id, mode)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(models_to_dict(models, mode), ensure_ascii=False),
                       encoding="utf-8")
        tmp.replace(path)
        return path


def needs_refit(models: SeriesModels | None, origin: pd.Timestamp, spec: ModelSpec,
                settings: ForecastSettings) -> bool:
    """Whether ``models`` must be re-estimated before forecasting from ``origin``.

    Yes when there are none, when any pollutant lacked data, when the specification
    changed, when the parameters are ``refit_every_days`` or more old, or when the filter
    state already includes days at or after ``origin``.
    """
    if models is None or models.insufficient or not models.models:
        return True
    if any(m.spec != spec for m in models.models.values()):
        return True
    if (origin - models.trained_until).days >= settings.refit_every_days:
        return True
    return any(m.state_until > origin for m in models.models.values())


def current_models(cached: SeriesModels | None, series_id: str, daily: pd.DataFrame,
                   origin: pd.Timestamp, spec: ModelSpec, settings: ForecastSettings,
                   weather: pd.DataFrame | None = None) -> SeriesModels:
    """``cached`` when it can forecast from ``origin``, else models fitted on days < origin
    (starting the optimiser from ``cached``'s estimates)."""
    if cached is not None and not needs_refit(cached, origin, spec, settings):
        return cached
    return fit_series(series_id, daily, origin, spec, settings, weather, previous=cached)
