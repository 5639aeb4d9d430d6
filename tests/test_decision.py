"""City grades -> one regional decision: the rule at its boundaries, stricter local rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from monitor.decision import (
    cities_needed,
    decide,
    effective_start,
    regional_level,
)
from monitor.forecast import AQI_THRESHOLDS, SeriesForecast
from monitor.forecast_config import DecisionSettings, Grading
from monitor.rules_config import WarningRules, load_warning_rules
from monitor.warning_grades import Grade

TZ = "Asia/Shanghai"
POINT = Grading(basis="point")
K2 = DecisionSettings(rule="k_of_n", k=2)


@pytest.fixture(scope="module")
def rules(config) -> WarningRules:
    return load_warning_rules(config.config_dir)


def _forecast(city: str, origin: str, aqi: list[float]) -> SeriesForecast:
    """A forecast whose point AQI is ``aqi`` (days 1..4), with a tight made-up spread."""
    days = pd.date_range(origin, periods=len(aqi), freq="D")
    values = np.asarray(aqi, dtype=float)
    table = pd.DataFrame({"day": days, "horizon": np.arange(1, len(aqi) + 1), "aqi": values,
                          "primary": "pm25", "aqi_lo80": values - 10, "aqi_hi80": values + 10,
                          "aqi_lo95": values - 20, "aqi_hi95": values + 20})
    for threshold in AQI_THRESHOLDS:
        table[f"p_gt_{threshold}"] = (values > threshold).astype(float)
    sample = np.repeat(values[:, None], 10, axis=1)
    return SeriesForecast(city, pd.Timestamp(origin), "history-only", "ok", pd.DataFrame(),
                          table, aqi_sample=sample)


def _grades(*levels: Grade | None) -> dict[tuple[str, str], Grade | None]:
    return {("hebei", f"city{i}"): g for i, g in enumerate(levels)}


def test_k_minus_one_cities_do_not_make_a_regional_warning() -> None:
    level, why = regional_level(_grades(Grade.ORANGE, Grade.NONE, Grade.NONE), K2)
    assert level is Grade.NONE
    assert "orange reached by 1 (< 2)" in why
    level, why = regional_level(_grades(Grade.ORANGE, Grade.ORANGE, Grade.NONE), K2)
    assert level is Grade.ORANGE
    assert why.startswith("2 of 3 member cities reach orange (2 needed): city0, city1")


def test_cities_at_different_grades_pool_to_the_highest_shared_one() -> None:
    grades = _grades(Grade.RED, Grade.ORANGE, Grade.YELLOW, Grade.NONE)
    assert regional_level(grades, K2)[0] is Grade.ORANGE
    assert regional_level(grades, DecisionSettings(rule="k_of_n", k=3))[0] is Grade.YELLOW
    assert regional_level(grades, DecisionSettings(rule="k_of_n", k=1))[0] is Grade.RED
    assert regional_level(grades, DecisionSettings(rule="k_of_n", k=4))[0] is Grade.NONE
    # an area with fewer cities than k needs all of them
    assert cities_needed(1, K2) == 1
    assert regional_level(_grades(Grade.RED), K2)[0] is Grade.RED


def test_share_rule_boundary() -> None:
    share = DecisionSettings(rule="share", share=0.2)
    assert cities_needed(15, share) == 3
    assert cities_needed(10, share) == 2  # exactly 20 %: 2 cities suffice
    two = _grades(*([Grade.YELLOW] * 2 + [Grade.NONE] * 13))
    three = _grades(*([Grade.YELLOW] * 3 + [Grade.NONE] * 12))
    assert regional_level(two, share)[0] is Grade.NONE
    assert regional_level(three, share)[0] is Grade.YELLOW


def test_a_city_without_forecast_never_counts_and_is_named() -> None:
    level, why = regional_level(_grades(Grade.ORANGE, None, Grade.NONE), K2)
    assert level is Grade.NONE
    assert "no forecast for city1" in why


def test_effective_start_is_a_local_midnight_at_least_24h_after_issue() -> None:
    issue = datetime(2024, 1, 10, 3, 0, tzinfo=UTC)  # 11:00 Beijing time
    start = effective_start(issue, 24, TZ)
    assert start == pd.Timestamp("2024-01-11T16:00Z")  # 2024-01-12 00:00 Beijing time
    midnight = datetime(2024, 1, 9, 16, 0, tzinfo=UTC)  # 2024-01-10 00:00 Beijing time
    assert effective_start(midnight, 24, TZ) == pd.Timestamp(midnight) + pd.Timedelta(hours=24)
    with pytest.raises(ValueError, match="at least 24"):
        effective_start(issue, 12, TZ)


def test_stricter_local_rule_applies_more_than_the_region(rules: WarningRules) -> None:
    """Beijing's 2023 plan makes 2 days > 150 yellow; the national rule does not."""
    issue = datetime(2024, 1, 9, 16, 0, tzinfo=UTC)  # 2024-01-10 00:00 Beijing time
    members = {"beijing": ["北京市"], "tianjin": ["天津市"], "hebei": ["保定市", "廊坊市"]}
    aqi = {"北京市": [160, 170, 120, 100], "天津市": [160, 170, 120, 100],
           "保定市": [210, 230, 120, 100], "廊坊市": [120, 110, 100, 90]}
    forecasts = {(region, city): _forecast(city, "2024-01-10", aqi[city])
                 for region, cities in members.items() for city in cities}
    decision = decide("jjj", members, forecasts, issue, rules=rules, grading=POINT,
                      settings=K2, tz=TZ)
    assert decision.own_levels["beijing"]["北京市"] is Grade.YELLOW  # beijing_2023
    assert decision.own_levels["hebei"]["保定市"] is Grade.YELLOW  # national_2018: 48 h > 200
    assert decision.own_levels["tianjin"]["天津市"] is Grade.NONE
    assert decision.level is Grade.YELLOW  # Beijing and Baoding: 2 of 4
    assert decision.city_levels["tianjin"]["天津市"] is Grade.YELLOW  # at least the region
    assert decision.evidence["cities"]["beijing"]["北京市"]["rule_set"] == "beijing_2023"
    # counted under one area-wide rule set, Beijing's stricter plan does not lift the region
    area = DecisionSettings(rule="k_of_n", k=2, area_rule_set="national_2018")
    counted = decide("jjj", members, forecasts, issue, rules=rules, grading=POINT,
                     settings=area, tz=TZ)
    assert counted.level is Grade.NONE
    assert counted.city_levels["beijing"]["北京市"] is Grade.YELLOW  # its own rule still holds
    assert counted.city_levels["tianjin"]["天津市"] is Grade.NONE
    assert decision.effective_start - decision.issue_time >= pd.Timedelta(hours=24)


def test_grading_basis_changes_the_decision(rules: WarningRules) -> None:
    issue = datetime(2024, 1, 9, 16, 0, tzinfo=UTC)
    members = {"hebei": ["保定市", "廊坊市"]}
    # point 195: below 200; upper bound of the 80 % interval 205: above
    forecasts = {("hebei", c): _forecast(c, "2024-01-10", [195, 195, 195, 120])
                 for c in members["hebei"]}
    point = decide("hebei", members, forecasts, issue, rules=rules, grading=POINT,
                   settings=K2, tz=TZ)
    upper = decide("hebei", members, forecasts, issue, rules=rules,
                   grading=Grading(basis="upper", interval=80), settings=K2, tz=TZ)
    assert point.level is Grade.NONE
    assert upper.level is Grade.ORANGE  # national_2018: 72 h > 200


def test_insufficient_city_and_json_form(rules: WarningRules) -> None:
    issue = datetime(2017, 1, 1, 0, 0, tzinfo=UTC)
    members = {"beijing": ["北京市"], "hebei": ["保定市"]}
    forecasts = {
        ("beijing", "北京市"): _forecast("北京市", "2017-01-01", [320, 350, 280, 220]),
        ("hebei", "保定市"): SeriesForecast("保定市", pd.Timestamp("2017-01-01"), "history-only",
                                           "insufficient data", pd.DataFrame(), pd.DataFrame(),
                                           "insufficient data: pm25 has 12 valid days"),
    }
    decision = decide("jjj", members, forecasts, issue, rules=rules, grading=POINT,
                      settings=DecisionSettings(rule="k_of_n", k=1), tz=TZ)
    assert decision.own_levels["beijing"]["北京市"] is Grade.RED  # jjj_2016: 4 days > 200, 2 > 300
    assert decision.level is Grade.RED
    assert decision.city_levels["hebei"]["保定市"] is Grade.RED
    hebei = decision.evidence["cities"]["hebei"]["保定市"]
    assert hebei["status"] == "insufficient data" and "12 valid days" in hebei["reason"]
    data = json.loads(json.dumps(decision.to_dict(), ensure_ascii=False))
    assert data["level"] == "red" and data["rule"] == "k_of_n(k=1)"
    assert data["evidence"]["cities"]["beijing"]["北京市"]["days"][0]["aqi"] == 320
    with pytest.raises(ValueError, match="no forecast given"):
        decide("jjj", {"beijing": ["北京市", "密云"]}, forecasts, issue, rules=rules,
               grading=POINT, settings=K2, tz=TZ)
