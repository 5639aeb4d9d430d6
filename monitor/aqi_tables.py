"""Air quality index standards as data: breakpoint scales, special rules, effective dates.

Each standard is one :class:`AqiStandard` value; the rules in :mod:`monitor.aqi` read
these values and never branch on a standard's name.  Adding a revision means adding a
value here, not an ``if`` elsewhere.

Concentrations are in the canonical units of :mod:`monitor.schema` for the Chinese
standards (µg/m³, CO in mg/m³) and in the units of the EPA tables (ppm for O3 and CO,
ppb for SO2 and NO2, µg/m³ for particles) for ``"epa"``.

References
----------
.. [1] HJ 633-2012 环境空气质量指数（AQI）技术规定（试行） / Technical Regulation on
   Ambient Air Quality Index (on trial), Ministry of Environmental Protection, 2012:
   Table 1 (IAQI breakpoints and its notes 1-3), clause 4 (calculation, rounding up),
   clause 5 (daily and real-time report indicators), Table 2 (categories, health
   effects and advice), Appendix A (colours).
.. [2] HJ 633-2026 环境空气质量指数（AQI）技术规定, Ministry of Ecology and Environment,
   approved 2026-02-14, in force 2026-03-01 (repeals HJ 633-2012): revised Table 1
   (PM2.5 and PM10 IAQI-100 breakpoints 60 and 120 µg/m³; SO2 1-h above 800 µg/m³ counts
   as IAQI 200; O3 8-h above 800 µg/m³ counts as IAQI 300), real-time report from the
   1-h values of the six pollutants, daily report without the O3 1-h maximum, AQI range
   1-500, completeness rule, sensitive groups per pollutant.
.. [3] US EPA, Technical Assistance Document for the Reporting of Daily Air Quality -
   the Air Quality Index (AQI), EPA-454/B-24-002, May 2024: Table 5 (breakpoints, with
   the 2024 PM2.5 revision), truncation rules and the O3 / SO2 special cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import numpy as np

BEIJING = ZoneInfo("Asia/Shanghai")


class OverflowAction(StrEnum):
    """What a scale does with a concentration above its top breakpoint."""

    #: IAQI is the scale's top index (e.g. 500, or HJ 633-2026's fixed 200 / 300).
    CAP = "cap"
    #: The value is not scored on this scale; the same pollutant's value for the
    #: ``fallback_period`` is scored instead (HJ 633-2012 notes 2-3, EPA O3 / SO2).
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class Scale:
    """The breakpoint table of one pollutant for one averaging period.

    Segment ``k`` maps concentrations ``[conc_lo[k], conc_hi[k]]`` linearly onto
    ``[index_lo[k], index_hi[k]]``.  Chinese tables are contiguous (``conc_lo[k] ==
    conc_hi[k-1]``); the EPA tables have gaps closed by truncation.
    """

    pollutant: str
    period: str
    unit: str
    conc_lo: tuple[float, ...]
    conc_hi: tuple[float, ...]
    index_lo: tuple[float, ...]
    index_hi: tuple[float, ...]
    overflow: OverflowAction = OverflowAction.CAP
    fallback_period: str | None = None
    #: Decimals the concentration is truncated to before scoring (EPA); None = as is.
    truncate_decimals: int | None = None

    def __post_init__(self) -> None:
        n = len(self.conc_lo)
        if not (len(self.conc_hi) == len(self.index_lo) == len(self.index_hi) == n):
            raise ValueError(f"scale {self.pollutant} {self.period}: ragged segments")
        if self.overflow is OverflowAction.FALLBACK and self.fallback_period is None:
            raise ValueError(f"scale {self.pollutant} {self.period}: fallback needs a period")

    @property
    def top_concentration(self) -> float:
        return self.conc_hi[-1]

    @property
    def top_index(self) -> float:
        return self.index_hi[-1]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (np.asarray(self.conc_lo, dtype="float64"),
                np.asarray(self.conc_hi, dtype="float64"),
                np.asarray(self.index_lo, dtype="float64"),
                np.asarray(self.index_hi, dtype="float64"))


def contiguous(pollutant: str, period: str, unit: str, concentrations: tuple[float, ...],
               indices: tuple[float, ...], **rules: object) -> Scale:
    """A Chinese-style scale from the breakpoint row of a table (shared segment ends)."""
    return Scale(pollutant, period, unit, concentrations[:-1], concentrations[1:],
                 indices[:-1], indices[1:], **rules)  # type: ignore[arg-type]


def segmented(pollutant: str, period: str, unit: str,
              rows: tuple[tuple[float, float, float, float], ...], **rules: object) -> Scale:
    """An EPA-style scale from rows ``(C_lo, C_hi, I_lo, I_hi)``."""
    c_lo, c_hi, i_lo, i_hi = zip(*rows, strict=True)
    return Scale(pollutant, period, unit, c_lo, c_hi, i_lo, i_hi, **rules)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Indicator:
    """One input of an AQI report: a reading period scored on a scale's period."""

    pollutant: str
    #: Averaging period of the reading (``monitor.schema.PERIODS``), e.g. ``8h_max_24h``.
    reading_period: str
    #: Period of the scale it is scored on (``1h`` PM2.5 is scored on the ``24h`` scale).
    scale_period: str
    #: Name used for primary pollutants (``pm25``, ``o3_1h``, ``o3_8h``...).
    label: str
    #: Reading period scored instead when the value is above a fallback scale's top
    #: (HJ 633-2012 notes 2-3, EPA); None: the value is then not scored in this report.
    fallback_reading: str | None = None


@dataclass(frozen=True, slots=True)
class Category:
    """An AQI category (HJ 633 Table 2 / EPA TAD Table 2)."""

    level: int
    index_lo: int
    index_hi: int
    name_zh: str
    name_en: str
    rgb: tuple[int, int, int]
    health_effects: str
    advice: str

    @property
    def hex_colour(self) -> str:
        return "#{:02X}{:02X}{:02X}".format(*self.rgb)


@dataclass(frozen=True, slots=True)
class AqiStandard:
    """One AQI standard with the date range it applies to (Beijing local dates)."""

    name: str
    title: str
    effective_from: datetime | None
    effective_until: datetime | None
    scales: dict[tuple[str, str], Scale]
    realtime: tuple[Indicator, ...]
    daily: tuple[Indicator, ...]
    categories: tuple[Category, ...]
    #: Smallest AQI published (HJ 633-2026: 1).
    aqi_floor: float = 0.0
    #: Primary pollutant(s) are named when AQI exceeds this (None: no primary pollutant).
    primary_above: float | None = 50.0
    #: Non-attainment pollutants have IAQI above this (HJ 633-2012 only).
    nonattainment_above: float | None = None
    #: With an indicator missing, the AQI of the rest is published only above this
    #: (HJ 633-2026 completeness rule); None = published whatever its value.
    incomplete_publish_above: float | None = None
    #: Indicators whose absence does not make a report incomplete.  The national
    #: real-time release of 2026 publishes the AQI of the other five pollutants whatever
    #: its value when only PM10 is missing (5,853 of 6,007 such station-hours of
    #: 2026-03-03 and 2026-05-01), and withholds it when any other one is missing.
    completeness_ignores: tuple[str, ...] = ()
    #: A fallback value never scores below the top index of the scale it replaces
    #: (EPA: 1-h SO2 >= 305 ppb means AQI >= 200 even if the 24-h value is lower).
    fallback_at_least_top: bool = False
    #: Sensitive groups named in the health advice, per pollutant (HJ 633-2026).
    sensitive_groups: dict[str, str] = field(default_factory=dict)


_CN_INDEX = (0, 50, 100, 150, 200, 300, 400, 500)
_UG, _MG = "ug/m3", "mg/m3"


def _cn_scales(pm25_100: float, pm10_100: float, so2_1h_above_800: dict[str, object],
               o3_8h_above_800: dict[str, object]) -> dict[tuple[str, str], Scale]:
    """HJ 633 Table 1; only the PM IAQI-100 breakpoints and two overflow rules differ."""
    scales = (
        contiguous("so2", "24h", _UG, (0, 50, 150, 475, 800, 1600, 2100, 2620), _CN_INDEX),
        contiguous("so2", "1h", _UG, (0, 150, 500, 650, 800), _CN_INDEX[:5],
                   **so2_1h_above_800),
        contiguous("no2", "24h", _UG, (0, 40, 80, 180, 280, 565, 750, 940), _CN_INDEX),
        contiguous("no2", "1h", _UG, (0, 100, 200, 700, 1200, 2340, 3090, 3840), _CN_INDEX),
        contiguous("pm10", "24h", _UG, (0, 50, pm10_100, 250, 350, 420, 500, 600), _CN_INDEX),
        contiguous("co", "24h", _MG, (0, 2, 4, 14, 24, 36, 48, 60), _CN_INDEX),
        contiguous("co", "1h", _MG, (0, 5, 10, 35, 60, 90, 120, 150), _CN_INDEX),
        contiguous("o3", "1h", _UG, (0, 160, 200, 300, 400, 800, 1000, 1200), _CN_INDEX),
        contiguous("o3", "8h", _UG, (0, 100, 160, 215, 265, 800), _CN_INDEX[:6],
                   **o3_8h_above_800),
        contiguous("pm25", "24h", _UG, (0, 35, pm25_100, 115, 150, 250, 350, 500), _CN_INDEX),
    )
    return {(s.pollutant, s.period): s for s in scales}


def _ind(pollutant: str, reading: str, scale: str, label: str | None = None,
         fallback_reading: str | None = None) -> Indicator:
    return Indicator(pollutant, reading, scale, label or pollutant, fallback_reading)


#: Real-time report indicators: 1-h values; PM2.5 and PM10 on the 24-h scale
#: (HJ 633-2012 clause 5.2 as applied in the national release; HJ 633-2026).  The
#: 2017 national release leaves a 1-h SO2 above 800 µg/m³ out of the real-time AQI
#: rather than scoring the 24-h mean (Table 1 note 2 is applied to the daily report).
_CN_REALTIME = (
    _ind("so2", "1h", "1h"), _ind("no2", "1h", "1h"), _ind("pm10", "1h", "24h"),
    _ind("co", "1h", "1h"), _ind("o3", "1h", "1h", "o3_1h"), _ind("pm25", "1h", "24h"),
)
_CN_DAILY_2026 = (
    _ind("so2", "24h", "24h"), _ind("no2", "24h", "24h"), _ind("pm10", "24h", "24h"),
    _ind("co", "24h", "24h"), _ind("o3", "8h_max_24h", "8h", "o3_8h"),
    _ind("pm25", "24h", "24h"),
)
#: HJ 633-2012 clause 5.1: the daily report also scores the O3 1-h daily maximum, and
#: an O3 8-h maximum above 800 µg/m³ gives way to it (Table 1 note 3).
_CN_DAILY_2012 = (
    *_CN_DAILY_2026[:4],
    _ind("o3", "8h_max_24h", "8h", "o3_8h", fallback_reading="1h_max_24h"),
    _ind("pm25", "24h", "24h"),
    _ind("o3", "1h_max_24h", "1h", "o3_1h"),
)

#: HJ 633-2012 Table 2 / Appendix A (also HJ 633-2026).
CN_CATEGORIES: tuple[Category, ...] = (
    Category(1, 0, 50, "优", "Excellent", (0, 228, 0),
             "空气质量令人满意，基本无空气污染 / satisfactory, little or no pollution",
             "各类人群可正常活动 / everyone can be active outdoors as usual"),
    Category(2, 51, 100, "良", "Good", (255, 255, 0),
             "空气质量可接受，极少数异常敏感人群健康可能受影响 / acceptable; a very few "
             "unusually sensitive people may be affected",
             "极少数异常敏感人群应减少户外活动 / unusually sensitive people should reduce "
             "outdoor activity"),
    Category(3, 101, 150, "轻度污染", "Lightly polluted", (255, 126, 0),
             "易感人群症状有轻度加剧，健康人群出现刺激症状 / sensitive people's symptoms "
             "slightly worse; irritation in healthy people",
             "儿童、老年人及心脏病、呼吸系统疾病患者应减少长时间、高强度的户外锻炼 / "
             "children, the elderly and people with heart or respiratory disease should "
             "reduce long or strenuous outdoor exercise"),
    Category(4, 151, 200, "中度污染", "Moderately polluted", (255, 0, 0),
             "进一步加剧易感人群症状，可能对健康人群心脏、呼吸系统有影响 / sensitive "
             "people's symptoms worse; heart and lungs of healthy people may be affected",
             "儿童、老年人及心脏病、呼吸系统疾病患者避免长时间、高强度的户外锻炼，一般人群"
             "适量减少户外运动 / sensitive groups avoid long or strenuous outdoor exercise; "
             "everyone else reduces outdoor exercise"),
    Category(5, 201, 300, "重度污染", "Heavily polluted", (153, 0, 76),
             "心脏病和肺病患者症状显著加剧，运动耐受力降低，健康人群普遍出现症状 / heart "
             "and lung patients markedly worse, lower exercise tolerance; symptoms common",
             "儿童、老年人和心脏病、肺病患者应停留在室内，停止户外运动，一般人群减少户外运动"
             " / sensitive groups stay indoors and stop outdoor exercise; everyone else "
             "reduces outdoor activity"),
    Category(6, 301, 500, "严重污染", "Severely polluted", (126, 0, 35),
             "健康人群运动耐受力降低，有明显强烈症状，提前出现某些疾病 / healthy people's "
             "exercise tolerance lower, strong symptoms, early onset of some diseases",
             "儿童、老年人和病人应当留在室内，避免体力消耗，一般人群应避免户外活动 / "
             "children, the elderly and the ill stay indoors and avoid exertion; everyone "
             "avoids outdoor activity"),
)

#: HJ 633-2026: the groups the health advice of each pollutant addresses.
CN_SENSITIVE_GROUPS_2026: dict[str, str] = {
    "pm25": "儿童、老年人、孕妇及心脏病、呼吸系统疾病患者 / children, the elderly, pregnant "
            "women, people with heart or respiratory disease",
    "pm10": "儿童、老年人及心脏病、呼吸系统疾病患者 / children, the elderly, people with "
            "heart or respiratory disease",
    "o3": "儿童、老年人、户外工作者及哮喘等呼吸系统疾病患者 / children, the elderly, outdoor "
          "workers, people with asthma or other respiratory disease",
    "no2": "儿童、老年人及哮喘等呼吸系统疾病患者 / children, the elderly, people with asthma "
           "or other respiratory disease",
    "so2": "儿童、老年人及哮喘等呼吸系统疾病患者 / children, the elderly, people with asthma "
           "or other respiratory disease",
    "co": "心脑血管疾病患者及孕妇 / people with cardiovascular disease, pregnant women",
}

_CUTOVER = datetime(2026, 3, 1, tzinfo=BEIJING)

HJ633_2012 = AqiStandard(
    name="hj633-2012",
    title="HJ 633-2012 Technical Regulation on Ambient Air Quality Index (on trial)",
    effective_from=None,
    effective_until=_CUTOVER,
    scales=_cn_scales(
        75, 150,
        so2_1h_above_800={"overflow": OverflowAction.FALLBACK, "fallback_period": "24h"},
        o3_8h_above_800={"overflow": OverflowAction.FALLBACK, "fallback_period": "1h"},
    ),
    realtime=_CN_REALTIME,
    daily=_CN_DAILY_2012,
    categories=CN_CATEGORIES,
    nonattainment_above=100.0,
)

HJ633_2026 = AqiStandard(
    name="hj633-2026",
    title="HJ 633-2026 Technical Regulation on Ambient Air Quality Index",
    effective_from=_CUTOVER,
    effective_until=None,
    scales=_cn_scales(60, 120, so2_1h_above_800={}, o3_8h_above_800={}),
    realtime=_CN_REALTIME,
    daily=_CN_DAILY_2026,
    categories=CN_CATEGORIES,
    aqi_floor=1.0,
    incomplete_publish_above=100.0,
    completeness_ignores=("pm10",),
    sensitive_groups=CN_SENSITIVE_GROUPS_2026,
)
