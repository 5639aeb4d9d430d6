"""The US EPA Air Quality Index, 2024 revision, as data for :mod:`monitor.aqi`.

Concentrations are scored in the units of EPA's table: O3 and CO in ppm, SO2 and NO2 in
ppb, PM2.5 and PM10 in µg/m³.  :func:`to_epa_unit` converts mass concentrations
(µg/m³, mg/m³) and the other mixing-ratio unit at EPA's 25 °C / 1 atm convention.

References
----------
.. [1] US EPA, Technical Assistance Document for the Reporting of Daily Air Quality -
   the Air Quality Index (AQI), EPA-454/B-24-002, May 2024: Table 1 (categories and
   colours), Table 6 (breakpoints; PM2.5 revised after the 2024 PM NAAQS; 301-500 one
   "Hazardous" segment), the equation and truncation rules of section IV, "Using both O3
   1-hour and 8-hour values" and "Calculating AQI values for SO2".

The index is rounded up to an integer, as for the Chinese standards: the TAD's worked
examples (1-h O3 0.162 ppm -> 148, where equation 1 gives 147.49) agree only with
rounding up, and they are the reference here.
"""

from __future__ import annotations

import numpy as np

from monitor.aqi_tables import AqiStandard, Category, Indicator, OverflowAction, segmented
from monitor.schema import parameter

#: Litres per mole of an ideal gas at 25 °C and 1 atm (EPA's ppb <-> µg/m³ convention).
EPA_MOLAR_VOLUME_L = 24.45

_FALLBACK = OverflowAction.FALLBACK

_SCALES = (
    # O3 8-h: ppm truncated to 3 decimals; above 0.200 ppm the 1-h value is used (note 2).
    segmented("o3", "8h", "ppm", (
        (0.000, 0.054, 0, 50), (0.055, 0.070, 51, 100), (0.071, 0.085, 101, 150),
        (0.086, 0.105, 151, 200), (0.106, 0.200, 201, 300),
    ), truncate_decimals=3, overflow=_FALLBACK, fallback_period="1h"),
    # O3 1-h: defined from AQI 101 only (note 1).
    segmented("o3", "1h", "ppm", (
        (0.125, 0.164, 101, 150), (0.165, 0.204, 151, 200), (0.205, 0.404, 201, 300),
        (0.405, 0.604, 301, 500),
    ), truncate_decimals=3),
    segmented("pm25", "24h", "ug/m3", (
        (0.0, 9.0, 0, 50), (9.1, 35.4, 51, 100), (35.5, 55.4, 101, 150),
        (55.5, 125.4, 151, 200), (125.5, 225.4, 201, 300), (225.5, 325.4, 301, 500),
    ), truncate_decimals=1),
    segmented("pm10", "24h", "ug/m3", (
        (0, 54, 0, 50), (55, 154, 51, 100), (155, 254, 101, 150), (255, 354, 151, 200),
        (355, 424, 201, 300), (425, 604, 301, 500),
    ), truncate_decimals=0),
    segmented("co", "8h", "ppm", (
        (0.0, 4.4, 0, 50), (4.5, 9.4, 51, 100), (9.5, 12.4, 101, 150),
        (12.5, 15.4, 151, 200), (15.5, 30.4, 201, 300), (30.5, 50.4, 301, 500),
    ), truncate_decimals=1),
    # SO2 1-h: defines AQI up to 200; from 305 ppb the 24-h value is used (note 3).
    segmented("so2", "1h", "ppb", (
        (0, 35, 0, 50), (36, 75, 51, 100), (76, 185, 101, 150), (186, 304, 151, 200),
    ), truncate_decimals=0, overflow=_FALLBACK, fallback_period="24h"),
    segmented("so2", "24h", "ppb", (
        (305, 604, 201, 300), (605, 1004, 301, 500),
    ), truncate_decimals=0),
    segmented("no2", "1h", "ppb", (
        (0, 53, 0, 50), (54, 100, 51, 100), (101, 360, 101, 150), (361, 649, 151, 200),
        (650, 1249, 201, 300), (1250, 2049, 301, 500),
    ), truncate_decimals=0),
)

EPA_CATEGORIES: tuple[Category, ...] = (
    Category(1, 0, 50, "优", "Good", (0, 228, 0),
             "air quality is satisfactory; little or no risk", "none"),
    Category(2, 51, 100, "良", "Moderate", (255, 255, 0),
             "acceptable; a risk for some unusually sensitive people",
             "unusually sensitive people consider reducing prolonged or heavy exertion"),
    Category(3, 101, 150, "轻度污染", "Unhealthy for Sensitive Groups", (255, 126, 0),
             "members of sensitive groups may experience health effects",
             "sensitive groups reduce prolonged or heavy exertion"),
    Category(4, 151, 200, "中度污染", "Unhealthy", (255, 0, 0),
             "some of the public may experience health effects; sensitive groups more "
             "seriously", "sensitive groups avoid prolonged or heavy exertion; everyone "
             "else reduces it"),
    Category(5, 201, 300, "重度污染", "Very Unhealthy", (143, 63, 151),
             "health alert: the risk of health effects is increased for everyone",
             "sensitive groups avoid all physical activity outdoors; everyone else avoids "
             "prolonged or heavy exertion"),
    Category(6, 301, 500, "严重污染", "Hazardous", (126, 0, 35),
             "health warning of emergency conditions: everyone is more likely to be "
             "affected", "everyone avoids all physical activity outdoors"),
)

#: Daily report: PM 24-h means, CO and O3 8-h maxima, O3 / SO2 / NO2 1-h maxima.
_DAILY = (
    Indicator("o3", "8h_max_24h", "8h", "o3_8h", fallback_reading="1h_max_24h"),
    Indicator("o3", "1h_max_24h", "1h", "o3_1h"),
    Indicator("pm25", "24h", "24h", "pm25"),
    Indicator("pm10", "24h", "24h", "pm10"),
    Indicator("co", "8h_max_24h", "8h", "co"),
    Indicator("so2", "1h_max_24h", "1h", "so2", fallback_reading="24h"),
    Indicator("no2", "1h_max_24h", "1h", "no2"),
)

EPA_2024 = AqiStandard(
    name="epa",
    title="US EPA AQI, Technical Assistance Document EPA-454/B-24-002 (May 2024)",
    effective_from=None,
    effective_until=None,
    scales={(s.pollutant, s.period): s for s in _SCALES},
    realtime=(),
    daily=_DAILY,
    categories=EPA_CATEGORIES,
    primary_above=None,
    fallback_at_least_top=True,
)


def to_epa_unit(values: np.ndarray, pollutant: str, unit: str, scale_unit: str) -> np.ndarray:
    """Convert ``values`` in ``unit`` to ``scale_unit`` (EPA: ppm, ppb or µg/m³).

    Mass concentration and mixing ratio are related at 25 °C and 1 atm:
    ``ppb = µg/m³ × 24.45 / M`` with M the molar mass in g/mol.

    Raises
    ------
    ValueError
        for a unit that is neither a mass concentration nor a mixing ratio.
    """
    per_ug = {"ug/m3": 1.0, "mg/m3": 1e3}
    per_ppb = {"ppb": 1.0, "ppm": 1e3}
    allowed = sorted({*per_ug, *per_ppb})
    if unit not in allowed:
        raise ValueError(f"unknown unit {unit!r}; allowed: {', '.join(allowed)}")
    if unit == scale_unit:
        return values
    if unit in per_ug and scale_unit in per_ug:
        return values * per_ug[unit] / per_ug[scale_unit]
    if unit in per_ppb and scale_unit in per_ppb:
        return values * per_ppb[unit] / per_ppb[scale_unit]
    molar_mass = parameter(pollutant).molar_mass
    if molar_mass is None:
        raise ValueError(f"{pollutant} is not a gas: cannot convert {unit} to {scale_unit}")
    if unit in per_ug:  # mass -> mixing ratio
        ppb = values * per_ug[unit] * EPA_MOLAR_VOLUME_L / molar_mass
        return ppb / per_ppb[scale_unit]
    ug = values * per_ppb[unit] * molar_mass / EPA_MOLAR_VOLUME_L
    return ug / per_ug[scale_unit]
