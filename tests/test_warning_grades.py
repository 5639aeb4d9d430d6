"""Heavy-pollution warning grades: every grade at and just past each boundary, per rule set."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import ConfigError
from monitor.rules_config import RuleSet, WarningRules, load_warning_rules
from monitor.warning_grades import Grade, grade, grade_cities, rule_set_for

CONFIG = Path(__file__).resolve().parent.parent / "config"
NONE, BLUE, YELLOW, ORANGE, RED = (Grade.NONE, Grade.BLUE, Grade.YELLOW, Grade.ORANGE,
                                   Grade.RED)


@pytest.fixture(scope="module")
def rules() -> WarningRules:
    return load_warning_rules(CONFIG)


def check(rule_set: RuleSet, daily_aqi: list[float], expected: Grade,
          step_hours: float = 24) -> None:
    result = grade(daily_aqi, rule_set, step_hours=step_hours)
    assert result.grade == expected, result.reason


# 2016 Beijing-Tianjin-Hebei unified standard (daily AQI, four grades).
JJJ_2016 = [
    ([200], NONE), ([201], BLUE),  # blue: > 200 for 1 day
    # yellow: > 200 for >= 2 days
    ([201, 200], BLUE), ([201, 201], YELLOW), ([201, 201, 201], YELLOW),
    ([201, 200, 201], BLUE),  # ... consecutive
    ([201, 201, 300], YELLOW), ([201, 201, 301], ORANGE),  # orange: 3 days + a day > 300
    ([301, 201, 201], ORANGE), ([301, 200, 201, 201], YELLOW),
    ([201, 301, 300, 201], ORANGE), ([201, 301, 301, 201], RED),  # red: 4 days with 2 > 300
    ([201, 301, 301], ORANGE),  # ... 3 days only
    ([301, 301, 200, 301, 301], YELLOW),  # ... > 200 run broken
    ([499], BLUE), ([500], RED), ([100, 500, 100], RED),  # red: a day reaching 500
    ([np.nan, 201, np.nan], BLUE),  # no forecast never counts
    ([], NONE),
]


@pytest.mark.parametrize(("aqi", "expected"), JJJ_2016)
def test_jjj_2016(rules: WarningRules, aqi: list[float], expected: Grade) -> None:
    check(rules.rule_sets["jjj_2016"], aqi, expected)


# Three-grade form: blue dropped; yellow 48 h, orange 72 h, red 96 h with 48 h > 300, or 500.
NATIONAL_2018_DAILY = [
    ([201], NONE), ([201, 200], NONE), ([201, 201], YELLOW),
    ([201, 201, 200], YELLOW), ([201, 201, 201], ORANGE),
    ([201, 301, 301], ORANGE), ([201, 201, 201, 301], ORANGE),
    ([201, 301, 301, 201], RED), ([201, 301, 300, 201], ORANGE), ([301, 301, 201, 200], ORANGE),
    ([499], NONE), ([500], RED),
]


@pytest.mark.parametrize(("aqi", "expected"), NATIONAL_2018_DAILY)
def test_national_2018_daily(rules: WarningRules, aqi: list[float], expected: Grade) -> None:
    check(rules.rule_sets["national_2018"], aqi, expected)


def hourly(*runs: tuple[int, float]) -> list[float]:
    """An hourly rolling-24-h AQI series from (hours, value) runs."""
    return [value for hours, value in runs for _ in range(hours)]


@pytest.mark.parametrize(("aqi", "expected"), [
    (hourly((10, 150), (47, 201), (10, 150)), NONE),
    (hourly((10, 150), (48, 201), (10, 150)), YELLOW),
    (hourly((71, 201)), YELLOW),
    (hourly((72, 201)), ORANGE),
    (hourly((24, 201), (1, 200), (71, 201)), YELLOW),  # broken run
    (hourly((24, 201), (48, 301), (24, 201)), RED),
    (hourly((24, 201), (47, 301), (25, 201)), ORANGE),
    (hourly((23, 201), (48, 301), (24, 201)), ORANGE),  # 95 h > 200
    (hourly((30, 100), (1, 500), (30, 100)), RED),
    (hourly((30, 100), (1, 499), (30, 100)), NONE),
])
def test_national_2018_hourly(rules: WarningRules, aqi: list[float], expected: Grade) -> None:
    check(rules.rule_sets["national_2018"], aqi, expected, step_hours=1)


# Beijing 2023 plan: yellow 1 day > 200 or 2 days > 150; orange 2 days > 200 or 3 days > 150;
# red 3 days > 200 with a day > 300.
BEIJING_2023 = [
    ([200], NONE), ([201], YELLOW), ([151], NONE), ([151, 150], NONE), ([151, 151], YELLOW),
    ([201, 200], YELLOW), ([201, 201], ORANGE),
    ([151, 151, 150], YELLOW), ([151, 151, 151], ORANGE), ([151, 201, 151], ORANGE),
    ([201, 201, 300], ORANGE), ([201, 201, 301], RED), ([201, 301], ORANGE),
    ([301, 201, 201], RED), ([301, 200, 201, 201], ORANGE),
]


@pytest.mark.parametrize(("aqi", "expected"), BEIJING_2023)
def test_beijing_2023(rules: WarningRules, aqi: list[float], expected: Grade) -> None:
    check(rules.rule_sets["beijing_2023"], aqi, expected)


def test_city_plan_is_stricter_than_the_regional_rule(rules: WarningRules) -> None:
    forecast = [160, 180, 170]
    assert grade(forecast, rules.rule_sets["beijing_2023"]).grade == ORANGE
    assert grade(forecast, rules.rule_sets["national_2018"]).grade == NONE


def test_reason_names_the_days_and_values(rules: WarningRules) -> None:
    days = pd.Series([150, 230, 310, 250, 180],
                     index=pd.date_range("2017-01-01", periods=5).strftime("%Y-%m-%d"))
    result = grade(days, rules.rule_sets["jjj_2016"])
    assert result.grade == ORANGE and result.rule_set == "jjj_2016"
    assert result.steps == ("2017-01-02", "2017-01-03", "2017-01-04")
    assert result.values == (230.0, 310.0, 250.0)
    assert result.reason == (
        "orange under jjj_2016: AQI > 200 for 3 consecutive days (needs 72 h) "
        "[2017-01-02: 230, 2017-01-03: 310, 2017-01-04: 250] and "
        "AQI > 300 on 1 day (needs 24 h) [2017-01-03: 310]")
    assert json.loads(json.dumps(result.as_dict())) == {
        "grade": "orange", "rule_set": "jjj_2016", "reason": result.reason,
        "steps": ["2017-01-02", "2017-01-03", "2017-01-04"], "values": [230.0, 310.0, 250.0]}
    none = grade([100, 120], rules.rule_sets["jjj_2016"])
    assert none.grade == NONE and "max AQI 120" in none.reason and none.steps == ()


def test_grades_are_ordered() -> None:
    assert NONE < BLUE < YELLOW < ORANGE < RED
    assert [g.label for g in Grade] == ["none", "blue", "yellow", "orange", "red"]


def test_grade_cities(rules: WarningRules) -> None:
    frame = pd.DataFrame({"北京市": [210, 220, 310], "天津市": [100, 160, 170]})
    result = grade_cities(frame, rules.rule_sets["beijing_2023"])
    assert result["grade_name"].to_dict() == {"北京市": "red", "天津市": "yellow"}
    assert result.index.name == "city"


def test_bad_forecast_input(rules: WarningRules) -> None:
    with pytest.raises(ValueError, match="must not be negative: step 1 = -5"):
        grade([210, -5], rules.rule_sets["jjj_2016"])
    with pytest.raises(ValueError, match="one sequence per city"):
        grade(np.ones((2, 3)), rules.rule_sets["jjj_2016"])
    with pytest.raises(ValueError, match="step_hours must be positive"):
        grade([210], rules.rule_sets["jjj_2016"], step_hours=0)


@pytest.mark.parametrize(("region", "on", "expected"), [
    ("beijing", date(2016, 11, 1), "jjj_2016"),
    ("hebei", date(2018, 8, 31), "jjj_2016"),
    ("hebei", date(2018, 9, 1), "national_2018"),
    ("beijing", date(2023, 10, 31), "national_2018"),
    ("beijing", date(2023, 11, 1), "beijing_2023"),
    ("beijing", datetime(2026, 3, 3, 8), "beijing_2023"),
    ("tianjin", date(2026, 3, 3), "national_2018"),
    ("zhejiang", date(2026, 3, 3), "national_2018"),
])
def test_rule_set_for(rules: WarningRules, region: str, on: date, expected: str) -> None:
    assert rule_set_for(region, on, rules).id == expected


def test_rule_set_for_without_any(rules: WarningRules) -> None:
    with pytest.raises(ValueError, match=r"no warning rule set for region 'zhejiang' on "
                                         r"2016-12-01; configured: jjj_2016"):
        rule_set_for("zhejiang", date(2016, 12, 1), rules)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("all_of = [{ above = 200, hours = 48 }]\n",
     "all_of = [{ above = 200, reaches = 210, hours = 48 }]\n",
     r"rule_sets\.jjj_2016\.grades\.1\.any_of\.0\.all_of\.0: .*exactly one of 'above'"),
    ('grade = "yellow"    # daily AQI > 200 for 2 days or more',
     'grade = "blue"', r"rule_sets\.jjj_2016: .*grade is defined twice"),
    ("effective_until = 2018-09-01", "effective_until = 2016-01-01",
     r"rule_sets\.jjj_2016: .*effective_until must be after"),
    ('grade = "red"       # > 200 for 4', 'grade = "purple"       # > 200 for 4',
     r"rule_sets\.jjj_2016\.grades\.3\.grade"),
])
def test_bad_warning_config_names_file_and_field(tmp_path: Path, old: str, new: str,
                                                 message: str) -> None:
    shutil.copy(CONFIG / "warning.toml", tmp_path / "warning.toml")
    text = (tmp_path / "warning.toml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "warning.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"warning\.toml: " + message):
        load_warning_rules(tmp_path)


@settings(max_examples=150, deadline=None)
@given(forecast=st.lists(st.floats(0, 500), min_size=1, max_size=7),
       position=st.integers(0, 6), increase=st.floats(0, 300),
       rule_set=st.sampled_from(["jjj_2016", "national_2018", "beijing_2023"]))
def test_a_worse_forecast_never_lowers_the_grade(forecast: list[float], position: int,
                                                 increase: float, rule_set: str) -> None:
    rules = load_warning_rules(CONFIG)
    worse = list(forecast)
    worse[position % len(worse)] = min(500.0, worse[position % len(worse)] + increase)
    chosen = rules.rule_sets[rule_set]
    assert grade(worse, chosen).grade >= grade(forecast, chosen).grade
