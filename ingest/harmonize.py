"""Harmonization rules, in one place: parameter names, units, reference conditions, time zones.

Every adapter goes through these functions; none of them knows a particular feed.

References
----------
.. [1] GB 3095-2012 Ambient air quality standards, and its amendment No. 1 (2018):
   gaseous pollutant concentrations refer to 273 K / 101.325 kPa until 2018-08-31 and to
   298.15 K / 101.325 kPa from 2018-09-01; particulates at actual conditions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from monitor.schema import PARAMETERS, parameter

#: Normalised native name -> canonical parameter (see :func:`normalize_name`).
PARAMETER_ALIASES: dict[str, str] = {
    # air
    "pm25": "pm25", "pm2p5": "pm25", "细颗粒物": "pm25",
    "pm10": "pm10", "可吸入颗粒物": "pm10",
    "so2": "so2", "二氧化硫": "so2",
    "no2": "no2", "二氧化氮": "no2",
    "co": "co", "一氧化碳": "co",
    "o3": "o3", "臭氧": "o3",
    "aqi": "aqi", "空气质量指数": "aqi",
    # water
    "ph": "ph", "ph值": "ph",
    "do": "do", "溶解氧": "do", "dissolvedoxygen": "do",
    "codmn": "codmn", "高锰酸盐指数": "codmn", "permanganateindex": "codmn",
    "cod": "cod", "codcr": "cod", "化学需氧量": "cod",
    "bod5": "bod5", "五日生化需氧量": "bod5",
    "nh3n": "nh3n", "氨氮": "nh3n", "ammonianitrogen": "nh3n",
    "tp": "tp", "总磷": "tp", "totalphosphorus": "tp",
    "tn": "tn", "总氮": "tn", "totalnitrogen": "tn",
    "wtemp": "wtemp", "水温": "wtemp", "watertemperature": "wtemp",
    "turbidity": "turbidity", "浊度": "turbidity",
    "conductivity": "conductivity", "电导率": "conductivity",
    "chla": "chla", "叶绿素a": "chla", "叶绿素α": "chla",
    "algae": "algae", "藻密度": "algae",
    "waterclass": "water_class", "水质类别": "water_class",
    # weather
    "temp": "temp", "temperature": "temp", "气温": "temp",
    "pres": "pres", "pressure": "pres", "气压": "pres",
    "dewp": "dewp", "dewpoint": "dewp", "露点": "dewp",
    "rh": "rh", "humidity": "rh", "相对湿度": "rh",
    "wspm": "wspd", "wspd": "wspd", "windspeed": "wspd", "风速": "wspd",
    "wd": "wdir", "wdir": "wdir", "winddirection": "wdir", "风向": "wdir",
    "rain": "rain", "precipitation": "rain", "降水量": "rain",
}

#: Period suffixes of native names (normalised), longest first.
_PERIOD_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("8h24h", "8h_max_24h"),
    ("h824h", "8h_max_24h"),
    ("24h", "24h"),
    ("h24", "24h"),
    ("8h", "8h"),
    ("h8", "8h"),
    ("1h", "1h"),
)

_STRIP = re.compile(r"[\s_.\-()（）/]+")


def normalize_name(native: str) -> str:
    """Fold a native column or parameter name to a comparable key.

    Unicode compatibility normalisation turns subscripts into digits (``PM₂.₅`` →
    ``PM2.5``); case, blanks, dots, hyphens, underscores and brackets are removed,
    and a trailing HTML unit annotation (``溶解氧<br/><span class='unit'>(mg/L)</span>``)
    is cut off.
    """
    text = unicodedata.normalize("NFKC", native).split("<", 1)[0]
    return _STRIP.sub("", text).lower()


@dataclass(frozen=True, slots=True)
class NativeName:
    parameter: str
    period: str


def canonical_name(native: str, default_period: str = "1h") -> NativeName | None:
    """Map a native name to (canonical parameter, averaging period), or None if unknown.

    Examples: ``PM2.5`` / ``pm2_5`` / ``PM₂.₅`` / ``PM25`` / ``细颗粒物`` → (pm25, 1h);
    ``pm2_5_24h`` / ``PM25H24`` / ``PM₂.₅-24h`` → (pm25, 24h); ``O3_8h_24h`` → (o3, 8h_max_24h).
    """
    key = normalize_name(native)
    if key in PARAMETER_ALIASES:
        return NativeName(PARAMETER_ALIASES[key], default_period)
    for suffix, period in _PERIOD_SUFFIXES:
        base = key.removesuffix(suffix)
        if base != key and base in PARAMETER_ALIASES:
            return NativeName(PARAMETER_ALIASES[base], period)
    return None


#: Normalised unit spelling -> canonical unit spelling.
UNIT_ALIASES: dict[str, str] = {
    "ug/m3": "ug/m3", "µg/m3": "ug/m3", "μg/m3": "ug/m3", "微克/立方米": "ug/m3",
    "mg/m3": "mg/m3", "毫克/立方米": "mg/m3", "ng/m3": "ng/m3",
    "ppb": "ppb", "ppm": "ppm",
    "mg/l": "mg/L", "ug/l": "ug/L", "µg/l": "ug/L", "μg/l": "ug/L",
    "℃": "degC", "°c": "degC", "degc": "degC", "c": "degC",
    "hpa": "hPa", "kpa": "kPa", "pa": "Pa",
    "m/s": "m/s", "mm": "mm", "ntu": "NTU",
    "μs/cm": "uS/cm", "µs/cm": "uS/cm", "us/cm": "uS/cm",
    "无量纲": "1", "1": "1", "": "1", "%": "%", "cells/l": "cells/L", "degree": "degree",
}

_SCALE: dict[tuple[str, str], float] = {
    ("ug/m3", "mg/m3"): 1e-3, ("mg/m3", "ug/m3"): 1e3, ("ng/m3", "ug/m3"): 1e-3,
    ("ng/m3", "mg/m3"): 1e-6, ("ug/L", "mg/L"): 1e-3, ("kPa", "hPa"): 10.0,
    ("Pa", "hPa"): 0.01,
}

#: Molar gas constant, J/(mol K) (CODATA 2018).
GAS_CONSTANT = 8.314462618


def canonical_unit(native: str) -> str:
    """Canonical spelling of a unit (``μg/m³`` → ``ug/m3``); ValueError if unknown."""
    key = unicodedata.normalize("NFKC", native).strip().lower().replace(" ", "")
    if key in UNIT_ALIASES:
        return UNIT_ALIASES[key]
    known = ", ".join(sorted(set(UNIT_ALIASES.values())))
    raise ValueError(f"unknown unit {native!r}; known: {known}")


@dataclass(frozen=True, slots=True)
class ReferenceConditions:
    """Temperature (K) and pressure (hPa) that gaseous mass concentrations refer to."""

    temperature_k: float
    pressure_hpa: float
    valid_from: date


#: Chinese reference conditions for gases, effective-dated (GB 3095-2012 and amendment No. 1).
CN_REFERENCE_CONDITIONS: tuple[ReferenceConditions, ...] = (
    ReferenceConditions(273.15, 1013.25, date(1900, 1, 1)),
    ReferenceConditions(298.15, 1013.25, date(2018, 9, 1)),
)


def reference_conditions(
    times: pd.Series | pd.DatetimeIndex,
    table: tuple[ReferenceConditions, ...] = CN_REFERENCE_CONDITIONS,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference temperature (K) and pressure (hPa) in force at each UTC time.

    The switch date is applied in Beijing time, as the amendment is dated there.
    """
    local = pd.DatetimeIndex(times).tz_convert("Asia/Shanghai").tz_localize(None)
    starts = np.array([np.datetime64(rc.valid_from, "ns") for rc in table])
    idx = np.searchsorted(starts, local.values.astype("datetime64[ns]"), side="right") - 1
    idx = np.clip(idx, 0, len(table) - 1)
    temps = np.array([rc.temperature_k for rc in table])[idx]
    press = np.array([rc.pressure_hpa for rc in table])[idx]
    return temps, press


def to_canonical_unit(
    values: np.ndarray | pd.Series,
    unit: str,
    param: str,
    times: pd.Series | pd.DatetimeIndex | None = None,
) -> np.ndarray:
    """Convert ``values`` given in ``unit`` to ``param``'s canonical unit.

    Mass units scale (µg/m³ ↔ mg/m³, ng/m³, µg/L ↔ mg/L).  Mixing ratios (ppb, ppm)
    of gases become mass concentrations at the reference conditions in force at each
    reading's time (``times`` required): c = x · M · p / (R · T).
    """
    spec = parameter(param)
    src = canonical_unit(unit)
    arr = np.asarray(values, dtype="float64")
    if src == spec.unit:
        return arr
    if (src, spec.unit) in _SCALE:
        return arr * _SCALE[(src, spec.unit)]
    if src in ("ppb", "ppm") and spec.gas and spec.molar_mass is not None:
        if times is None:
            raise ValueError(f"{param}: converting {src} needs the readings' times")
        temp_k, pres_hpa = reference_conditions(times)
        mol_per_m3 = pres_hpa * 100.0 / (GAS_CONSTANT * temp_k)
        fraction = arr * (1e-9 if src == "ppb" else 1e-6)
        grams = fraction * mol_per_m3 * spec.molar_mass
        return grams * (1e6 if spec.unit == "ug/m3" else 1e3)
    raise ValueError(f"{param}: cannot convert {unit!r} to {spec.unit!r}")


#: 16-point compass rose -> direction the wind blows from, degrees clockwise from north
#: (WMO-No. 306 Manual on Codes, code table 0877, in 22.5-degree steps).
COMPASS_DEGREES: dict[str, float] = {
    point: i * 22.5
    for i, point in enumerate(("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE",
                               "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW"))
}


def compass_to_degrees(points: pd.Series) -> np.ndarray:
    """Wind direction given as compass points (``NNW``) in degrees; NaN if not a point."""
    key = points.astype("string").str.strip().str.upper()
    return key.map(COMPASS_DEGREES).to_numpy(dtype="float64", na_value=np.nan)


def local_to_utc(local: pd.Series, timezone: str) -> pd.Series:
    """Localise naive local timestamps and convert them to UTC.

    Non-existent or ambiguous local times (daylight-saving transitions) become NaT so
    that the caller quarantines the row instead of guessing.
    """
    stamps = pd.to_datetime(local, errors="coerce")
    aware = stamps.dt.tz_localize(timezone, nonexistent="NaT", ambiguous="NaT")
    return aware.dt.tz_convert("UTC")


def known_parameters() -> list[str]:
    return sorted(PARAMETERS)
