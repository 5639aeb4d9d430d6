"""Warning grades on a real episode: Beijing, December 2016 (UCI Beijing Multi-Site data).

Valid daily (and rolling 24-h) means per station (``monitor.statistics``), the city's mean of
its stations, the IAQI of PM2.5 and PM10 under the standard in force (HJ 633-2012,
``monitor.aqi``), and the grade with the rule set in force for Beijing, using the observed
AQI as a perfect forecast.  Beijing issued its red alert for 16-21 December 2016; the
observed AQI of PM2.5/PM10 (a lower bound of the full six-pollutant AQI) exceeds 200 from
17 to 21 December and 300 on 20 and 21 December.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitor.aqi import iaqi
from monitor.rules_config import load_warning_rules
from monitor.statistics import daily_mean, rolling_24h_mean
from monitor.warning_grades import Grade, grade, rule_set_for

TZ = "Asia/Shanghai"
COLUMNS = {"PM2.5": "pm25", "PM10": "pm10"}


def read_uci_december_2016(folder: Path) -> dict[str, pd.DataFrame]:
    """Hourly PM2.5 and PM10 (ug/m3) of the 8 UCI stations, wide, UTC hour-end index."""
    parts = []
    for path in sorted(folder.glob("PRSA_Data_*.csv")):
        raw = pd.read_csv(path, na_values=["NA"])
        raw = raw[(raw["year"] == 2016) & (raw["month"] == 12)]
        start = pd.to_datetime(raw[["year", "month", "day", "hour"]]).dt.tz_localize(TZ)
        parts.append(raw.assign(time=start.dt.tz_convert("UTC") + pd.Timedelta(hours=1)))
    data = pd.concat(parts)
    return {name: data.pivot_table(index="time", columns="station", values=column)
            for column, name in COLUMNS.items()}


def city_aqi(means: dict[str, pd.DataFrame]) -> pd.Series:
    """AQI from PM2.5 and PM10 24-h means of the city (mean over its stations)."""
    city = {p: frame.mean(axis=1) for p, frame in means.items()}
    times = city["pm25"].index
    scores = np.fmax(iaqi("pm25", city["pm25"].to_numpy(), period="24h", at=times),
                     iaqi("pm10", city["pm10"].to_numpy(), period="24h", at=times))
    return pd.Series(scores, index=times)


@pytest.mark.shared
def test_red_alert_of_december_2016(shared_data: Path) -> None:
    hourly = read_uci_december_2016(shared_data / "uci_beijing_multisite")
    daily = city_aqi({p: daily_mean(frame, TZ).value for p, frame in hourly.items()})
    daily.index = (daily.index - pd.Timedelta(hours=1)).tz_convert(TZ).strftime("%Y-%m-%d")
    forecast = daily.loc["2016-12-16":"2016-12-22"]
    print("\nBeijing daily AQI (PM2.5/PM10):", forecast.to_dict())

    rules = load_warning_rules()
    rule_set = rule_set_for("beijing", date(2016, 12, 16), rules)
    assert rule_set.id == "jjj_2016"
    result = grade(forecast, rule_set)
    print(result.reason)
    assert result.grade == Grade.RED
    assert result.steps == ("2016-12-17", "2016-12-18", "2016-12-19", "2016-12-20",
                            "2016-12-21")
    assert all(v > 300 for v in forecast.loc["2016-12-20":"2016-12-21"])

    # The same episode under the three-grade form, on the hourly rolling 24-h AQI.
    rolling = city_aqi({p: rolling_24h_mean(frame).value for p, frame in hourly.items()})
    window = rolling.loc["2016-12-16T00:00Z":"2016-12-22T16:00Z"]
    hourly_result = grade(window, rules.rule_sets["national_2018"], step_hours=1)
    print(hourly_result.reason)
    assert hourly_result.grade == Grade.RED
