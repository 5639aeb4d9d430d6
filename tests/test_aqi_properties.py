"""Property tests (hypothesis): IAQI monotone, AQI >= every IAQI, NaN in -> NaN out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.aqi import STANDARDS, iaqi, realtime_aqi
from monitor.aqi_tables import OverflowAction

SCALES = [(name, pollutant, period, scale)
          for name, standard in STANDARDS.items()
          for (pollutant, period), scale in standard.scales.items()]
finite = st.floats(min_value=0, max_value=1.0, allow_nan=False)


@pytest.mark.parametrize(("standard", "pollutant", "period", "scale"), SCALES,
                         ids=[f"{s[0]}-{s[1]}-{s[2]}" for s in SCALES])
@settings(max_examples=60, deadline=None)
@given(fractions=st.lists(finite, min_size=2, max_size=50))
def test_iaqi_is_monotone_non_decreasing(standard: str, pollutant: str, period: str,
                                         scale: object, fractions: list[float]) -> None:
    # Over the scale's range, and beyond it for scales that cap (a fallback scale hands
    # values above its top to another period's value, which is not this one's business).
    top = scale.top_concentration  # type: ignore[attr-defined]
    capped = scale.overflow is OverflowAction.CAP  # type: ignore[attr-defined]
    bottom = scale.conc_lo[0]  # type: ignore[attr-defined]
    span = (2.0 * top if capped else top) - bottom
    conc = np.sort(bottom + np.asarray(fractions) * span)
    values = iaqi(pollutant, conc, period=period, standard=standard)
    assert not np.isnan(values).any()
    assert (np.diff(values) >= 0).all()


@settings(max_examples=25, deadline=None)
@given(
    data=st.lists(st.tuples(*[st.one_of(st.none(), st.floats(0, 600)) for _ in range(6)]),
                  min_size=1, max_size=30),
    year=st.sampled_from(["2017-01-01T01:00Z", "2026-05-01T01:00Z"]),
)
def test_aqi_is_at_least_every_iaqi_and_nan_stays_nan(data: list[tuple], year: str) -> None:
    pollutants = ["so2", "no2", "pm10", "co", "o3", "pm25"]
    rows = [(f"cn:{i}", p, np.nan if v is None else (v / 50 if p == "co" else v))
            for i, values in enumerate(data) for p, v in zip(pollutants, values, strict=True)]
    frame = pd.DataFrame(rows, columns=["station_id", "parameter", "value"])
    frame["time"] = pd.Timestamp(year)
    frame["period"], frame["flag"], frame["flag_reason"] = "1h", "valid", None
    out = realtime_aqi(frame)
    iaqis = out.filter(like="iaqi_").to_numpy()
    aqi = out["aqi"].to_numpy()
    published = ~np.isnan(aqi)
    assert (aqi[published, None] >= np.nan_to_num(iaqis[published], nan=-1)).all()
    assert np.isnan(aqi[np.isnan(iaqis).all(axis=1)]).all()
    assert ((aqi[published] >= 0) & (aqi[published] <= 500)).all()


@given(st.sampled_from(SCALES))
def test_nan_concentration_gives_nan(case: tuple) -> None:
    standard, pollutant, period, _ = case
    got = iaqi(pollutant, [np.nan, 1.0, np.nan], period=period, standard=standard)
    assert np.isnan(got[[0, 2]]).all()
