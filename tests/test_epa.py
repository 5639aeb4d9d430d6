"""US EPA AQI (2024 revision): the Technical Assistance Document's worked values and rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitor.aqi import categories, daily_aqi, iaqi, realtime_aqi, score
from monitor.epa import to_epa_unit


@pytest.mark.parametrize(("pollutant", "period", "value", "expected"), [
    ("o3", "8h", 0.07853333, 126),   # truncated to 0.078 ppm
    ("pm25", "24h", 35.9, 102),
    ("co", "8h", 8.4, 90),
    ("o3", "1h", 0.162, 148),
])
def test_worked_values_of_the_technical_assistance_document(
        pollutant: str, period: str, value: float, expected: int) -> None:
    assert iaqi(pollutant, [value], period=period, standard="epa").tolist() == [expected]


def test_2024_pm25_breakpoints_and_500_at_325_4() -> None:
    got = iaqi("pm25", [9.0, 9.1, 35.4, 55.4, 125.4, 225.4, 325.4, 400.0], period="24h",
               standard="epa")
    assert got.tolist() == [50, 51, 100, 150, 200, 300, 500, 500]


def test_truncation_before_scoring() -> None:
    # 9.09 -> 9.0 (AQI 50), 35.49 -> 35.4 (100), PM10 54.9 -> 54 (50), CO 4.49 -> 4.4 (50)
    assert iaqi("pm25", [9.09, 35.49], period="24h", standard="epa").tolist() == [50, 100]
    assert iaqi("pm10", [54.9], period="24h", standard="epa").tolist() == [50]
    assert iaqi("co", [4.49], period="8h", standard="epa").tolist() == [50]
    assert iaqi("o3", [0.0709], period="8h", standard="epa").tolist() == [100]


def test_o3_8h_above_0_200_ppm_uses_the_1h_value() -> None:
    at_top = score("o3", [0.200, 0.201], period="8h", standard="epa", fallback=[0.3, 0.3])
    assert at_top.iaqi.tolist() == [300, 300]
    assert at_top.reason.tolist() == [None, "above_scale_used_1h"]
    higher = score("o3", [0.25], period="8h", standard="epa", fallback=[0.5])
    assert higher.iaqi.tolist() == [396]  # 301 + 199/0.199 * 0.095 = 396.0


def test_o3_1h_is_not_defined_below_0_125_ppm() -> None:
    got = score("o3", [0.124, 0.125], period="1h", standard="epa")
    assert np.isnan(got.iaqi[0]) and got.reason[0] == "below_scale"
    assert got.iaqi[1] == 101


def test_so2_1h_from_305_ppb_uses_the_24h_value_and_is_at_least_200() -> None:
    got = score("so2", [304, 305, 305, 305], period="1h", standard="epa",
                fallback=[400, 400, 100, 1004])
    assert got.iaqi.tolist() == [200, 233, 200, 500]
    assert got.reason.tolist() == [None, "above_scale_used_24h", "above_scale_used_24h",
                                   "above_scale_used_24h"]


def test_units_ppb_ppm_and_mass_concentration() -> None:
    # O3 70 ppb == 0.070 ppm -> 100; NO2 100 ppb == 188.2 µg/m³ (M 46.0055, 24.45 L/mol)
    assert iaqi("o3", [70], period="8h", standard="epa", unit="ppb").tolist() == [100]
    ug = 100 * 46.0055 / 24.45
    assert iaqi("no2", [ug], period="1h", standard="epa", unit="ug/m3").tolist() == [100]
    assert iaqi("co", [8.4 * 28.010 / 24.45], period="8h", standard="epa",
                unit="mg/m3").tolist() == [90]
    np.testing.assert_allclose(to_epa_unit(np.array([1.0]), "so2", "ppm", "ppb"), [1000.0])
    with pytest.raises(ValueError, match="allowed: mg/m3, ppb, ppm, ug/m3"):
        iaqi("o3", [1], period="8h", standard="epa", unit="ppt")


def test_epa_categories_names_and_colours() -> None:
    table = categories([0, 50, 51, 101, 151, 201, 301, 500], standard="epa")
    assert table["name_en"].tolist() == [
        "Good", "Good", "Moderate", "Unhealthy for Sensitive Groups", "Unhealthy",
        "Very Unhealthy", "Hazardous", "Hazardous"]
    assert table["colour"].tolist()[5] == "#8F3F97"


def _daily(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame({
        "station_id": "us:1", "time": pd.Timestamp("2026-07-02T05:00Z"),
        "parameter": [r[0] for r in rows], "period": [r[1] for r in rows],
        "value": [r[2] for r in rows], "flag": "valid", "flag_reason": None,
    })


def test_daily_report_converts_canonical_units_and_takes_the_maximum() -> None:
    o3_ug = 0.078 * 1000 * 47.997 / 24.45  # 0.078 ppm as µg/m³
    frame = _daily([("o3", "8h_max_24h", o3_ug), ("pm25", "24h", 35.9),
                    ("co", "8h_max_24h", 8.4 * 28.010 / 24.45)])
    out = daily_aqi(frame, standard="epa")
    row = out.iloc[0]
    assert row["aqi"] == 126
    assert (row["iaqi_o3_8h"], row["iaqi_pm25"], row["iaqi_co"]) == (126, 102, 90)
    assert pd.isna(row["primary_pollutants"])  # EPA reports no primary pollutant
    assert pd.isna(row["reason"])


def test_daily_o3_1h_below_its_scale_is_not_scored_and_not_a_qc_reason() -> None:
    frame = _daily([("o3", "8h_max_24h", 0.060 * 1000 * 47.997 / 24.45),
                    ("o3", "1h_max_24h", 0.100 * 1000 * 47.997 / 24.45)])
    row = daily_aqi(frame, standard="epa").iloc[0]
    assert row["aqi"] == 68 and np.isnan(row["iaqi_o3_1h"]) and pd.isna(row["reason"])


def test_epa_has_no_realtime_report() -> None:
    with pytest.raises(ValueError, match="epa defines no realtime report"):
        realtime_aqi(_daily([("pm25", "1h", 10.0)]), standard="epa")
