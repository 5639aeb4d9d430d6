"""IAQI tables reproduced breakpoint by breakpoint, and the special rules of each standard.

The expected rows below are transcribed from the standards' tables (HJ 633-2012 Table 1,
HJ 633-2026 Table 1, EPA-454/B-24-002 Table 6), independently of ``monitor.aqi_tables``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.aqi import iaqi, score

CN_INDEX = (0, 50, 100, 150, 200, 300, 400, 500)

#: (pollutant, period) -> concentration breakpoints for IAQI 0, 50, 100 ... (HJ 633-2012).
HJ2012 = {
    ("so2", "24h"): (0, 50, 150, 475, 800, 1600, 2100, 2620),
    ("so2", "1h"): (0, 150, 500, 650, 800),
    ("no2", "24h"): (0, 40, 80, 180, 280, 565, 750, 940),
    ("no2", "1h"): (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    ("pm10", "24h"): (0, 50, 150, 250, 350, 420, 500, 600),
    ("co", "24h"): (0, 2, 4, 14, 24, 36, 48, 60),
    ("co", "1h"): (0, 5, 10, 35, 60, 90, 120, 150),
    ("o3", "1h"): (0, 160, 200, 300, 400, 800, 1000, 1200),
    ("o3", "8h"): (0, 100, 160, 215, 265, 800),
    ("pm25", "24h"): (0, 35, 75, 115, 150, 250, 350, 500),
}
#: HJ 633-2026: IAQI 100 at PM2.5 60 and PM10 120 µg/m³; the rest unchanged.
HJ2026 = {
    **HJ2012,
    ("pm10", "24h"): (0, 50, 120, 250, 350, 420, 500, 600),
    ("pm25", "24h"): (0, 35, 60, 115, 150, 250, 350, 500),
}
CN_CASES = [(std, p, q, bps) for std, table in (("hj633-2012", HJ2012), ("hj633-2026", HJ2026))
            for (p, q), bps in table.items()]

#: EPA 2024 Table 6 rows (C_lo, C_hi, I_lo, I_hi) in ppm (O3, CO), ppb (SO2, NO2), µg/m³.
EPA = {
    ("o3", "8h"): [(0.000, 0.054, 0, 50), (0.055, 0.070, 51, 100), (0.071, 0.085, 101, 150),
                   (0.086, 0.105, 151, 200), (0.106, 0.200, 201, 300)],
    ("o3", "1h"): [(0.125, 0.164, 101, 150), (0.165, 0.204, 151, 200),
                   (0.205, 0.404, 201, 300), (0.405, 0.604, 301, 500)],
    ("pm25", "24h"): [(0.0, 9.0, 0, 50), (9.1, 35.4, 51, 100), (35.5, 55.4, 101, 150),
                      (55.5, 125.4, 151, 200), (125.5, 225.4, 201, 300),
                      (225.5, 325.4, 301, 500)],
    ("pm10", "24h"): [(0, 54, 0, 50), (55, 154, 51, 100), (155, 254, 101, 150),
                      (255, 354, 151, 200), (355, 424, 201, 300), (425, 604, 301, 500)],
    ("co", "8h"): [(0.0, 4.4, 0, 50), (4.5, 9.4, 51, 100), (9.5, 12.4, 101, 150),
                   (12.5, 15.4, 151, 200), (15.5, 30.4, 201, 300), (30.5, 50.4, 301, 500)],
    ("so2", "1h"): [(0, 35, 0, 50), (36, 75, 51, 100), (76, 185, 101, 150),
                    (186, 304, 151, 200)],
    ("so2", "24h"): [(305, 604, 201, 300), (605, 1004, 301, 500)],
    ("no2", "1h"): [(0, 53, 0, 50), (54, 100, 51, 100), (101, 360, 101, 150),
                    (361, 649, 151, 200), (650, 1249, 201, 300), (1250, 2049, 301, 500)],
}
EPA_CASES = [(p, q, rows) for (p, q), rows in EPA.items()]


@pytest.mark.parametrize(("standard", "pollutant", "period", "breakpoints"), CN_CASES)
def test_china_every_breakpoint_and_segment_interior(standard: str, pollutant: str,
                                                     period: str, breakpoints: tuple) -> None:
    got = iaqi(pollutant, breakpoints, period=period, standard=standard)
    np.testing.assert_array_equal(got, CN_INDEX[:len(breakpoints)])
    lo, hi = np.array(breakpoints[:-1], float), np.array(breakpoints[1:], float)
    inside = lo + 0.3 * (hi - lo)
    i_lo, i_hi = np.array(CN_INDEX[:len(lo)]), np.array(CN_INDEX[1:len(lo) + 1])
    expected = [math.ceil(round(a + 0.3 * (b - a), 9)) for a, b in zip(i_lo, i_hi, strict=True)]
    np.testing.assert_array_equal(iaqi(pollutant, inside, period=period, standard=standard),
                                  expected)


@pytest.mark.parametrize(("pollutant", "period", "rows"), EPA_CASES)
def test_epa_every_breakpoint_and_segment_interior(pollutant: str, period: str,
                                                   rows: list) -> None:
    c_lo, c_hi, i_lo, i_hi = (np.array(col, float) for col in zip(*rows, strict=True))
    np.testing.assert_array_equal(iaqi(pollutant, c_lo, period=period, standard="epa"), i_lo)
    np.testing.assert_array_equal(iaqi(pollutant, c_hi, period=period, standard="epa"), i_hi)
    # a value inside each segment, already on the truncation grid: midpoint rounded down
    decimals = 3 if pollutant == "o3" else 1 if pollutant in ("pm25", "co") else 0
    mid = np.floor((c_lo + c_hi) / 2 * 10**decimals + 1e-9) / 10**decimals
    expected = np.ceil(np.round((i_hi - i_lo) / (c_hi - c_lo) * (mid - c_lo) + i_lo, 6))
    np.testing.assert_array_equal(iaqi(pollutant, mid, period=period, standard="epa"),
                                  expected)


def test_pm_iaqi_100_breakpoints_differ_between_2012_and_2026() -> None:
    assert iaqi("pm25", [60, 75], period="24h", standard="hj633-2012").tolist() == [82, 100]
    assert iaqi("pm25", [60, 75], period="24h", standard="hj633-2026").tolist() == [100, 114]
    assert iaqi("pm10", [120, 150], period="24h", standard="hj633-2012").tolist() == [85, 100]
    assert iaqi("pm10", [120, 150], period="24h", standard="hj633-2026").tolist() == [100, 112]


def test_effective_date_chooses_the_table_on_each_side_of_2026_03_01_beijing() -> None:
    # 2026-03-01 00:00 Beijing is 2026-02-28 16:00 UTC; ``at`` is the period start.
    at = ["2026-02-28T15:59:59Z", "2026-02-28T16:00:00Z", "2026-02-28T23:00+08:00",
          "2026-03-01T00:00+08:00"]
    assert iaqi("pm25", [75] * 4, period="24h", at=at).tolist() == [100, 114, 100, 114]
    assert iaqi("pm25", 75, period="1h", at="2017-01-01").tolist() == [100]
    assert iaqi("pm25", 75, period="1h", at="2026-05-01").tolist() == [114]


def test_pm_1h_values_are_scored_on_the_24h_table() -> None:
    for standard in ("hj633-2012", "hj633-2026"):
        c = [10, 75, 160, 417]
        np.testing.assert_array_equal(iaqi("pm25", c, period="1h", standard=standard),
                                      iaqi("pm25", c, period="24h", standard=standard))
    # 1001A, 2017-01-01 00:00, quotsoft: PM2.5 417 -> published AQI 445
    assert iaqi("pm25", [417], period="1h", standard="hj633-2012").tolist() == [445]


def test_so2_1h_above_800_2012_falls_back_to_24h_2026_counts_200() -> None:
    at_800 = score("so2", [800, 801], period="1h", standard="hj633-2012", fallback=[100, 100])
    assert at_800.iaqi.tolist() == [200, 75]
    assert at_800.reason.tolist() == [None, "above_scale_used_24h"]
    missing = score("so2", [801], period="1h", standard="hj633-2012")
    assert np.isnan(missing.iaqi[0]) and missing.reason[0] == "above_scale_no_24h_value"
    new = score("so2", [800, 801, 5000], period="1h", standard="hj633-2026")
    assert new.iaqi.tolist() == [200, 200, 200]
    assert new.reason.tolist() == [None, "above_scale_capped", "above_scale_capped"]


def test_o3_8h_above_800_2012_uses_1h_2026_counts_300() -> None:
    old = score("o3", [800, 801], period="8h", standard="hj633-2012", fallback=[900, 900])
    assert old.iaqi.tolist() == [300, 350]
    assert old.reason.tolist() == [None, "above_scale_used_1h"]
    new = score("o3", [800, 801], period="8h", standard="hj633-2026")
    assert new.iaqi.tolist() == [300, 300]


def test_values_above_the_table_count_500_with_a_reason() -> None:
    got = score("pm25", [500, 500.5, 900], period="24h", standard="hj633-2026")
    assert got.iaqi.tolist() == [500, 500, 500]
    assert got.reason.tolist() == [None, "above_scale_capped", "above_scale_capped"]


def test_iaqi_rounds_up_and_nan_stays_nan() -> None:
    # PM2.5 36 µg/m³ (2012): 50 + 1/40 * 50 = 51.25 -> 52; exact breakpoints not bumped
    got = iaqi("pm25", [35, 35.01, 36, np.nan], period="24h", standard="hj633-2012")
    assert got[:3].tolist() == [50, 51, 52]
    assert np.isnan(got[3])


def test_negative_concentration_is_nan_with_reason_and_the_rest_is_kept() -> None:
    got = score("no2", [-5, 40, -0.1, 100], period="24h", standard="hj633-2026")
    assert np.isnan(got.iaqi[[0, 2]]).all()
    assert got.iaqi[[1, 3]].tolist() == [50, 110]
    assert got.reason.tolist() == ["negative_concentration", None, "negative_concentration",
                                   None]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"pollutant": "pm1", "period": "24h", "standard": "hj633-2026"},
     "unknown pollutant 'pm1' for hj633-2026; allowed: co, no2, o3, pm10, pm25, so2"),
    ({"pollutant": "pm25", "period": "2h", "standard": "hj633-2026"},
     "unknown period '2h' for pm25 in hj633-2026; allowed: 1h, 24h"),
    ({"pollutant": "pm25", "period": "24h", "standard": "hj633-2099"},
     "unknown standard 'hj633-2099'; allowed: epa, hj633-2012, hj633-2026"),
    ({"pollutant": "o3", "period": "24h", "standard": "epa"},
     "unknown period '24h' for o3 in epa; allowed: 1h, 1h_max_24h, 8h, 8h_max_24h"),
])
def test_unknown_names_raise_value_error_listing_allowed(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        iaqi(concentration=[1.0], **kwargs)
    assert str(err.value) == message
