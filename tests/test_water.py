"""GB 3838-2002 Table 1 classes, section assessment, period attainment, configuration errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import ConfigError
from monitor.rules_config import WaterRules, load_water_rules
from monitor.schema import READING_COLUMNS, STATION_COLUMNS
from monitor.water import assess_sections, class_limit, parameter_class, period_assessment

CONFIG = Path(__file__).resolve().parent.parent / "config"

# GB 3838-2002 Table 1, classes I..V, restated here independently of config/water.toml.
UPPER_LIMITS = {
    ("codmn", "river"): [2, 4, 6, 10, 15],
    ("cod", "river"): [15, 15, 20, 30, 40],
    ("bod5", "river"): [3, 3, 4, 6, 10],
    ("nh3n", "river"): [0.15, 0.5, 1.0, 1.5, 2.0],
    ("tp", "river"): [0.02, 0.1, 0.2, 0.3, 0.4],
    ("tp", "lake"): [0.01, 0.025, 0.05, 0.1, 0.2],
    ("tp", "reservoir"): [0.01, 0.025, 0.05, 0.1, 0.2],
    ("tn", "lake"): [0.2, 0.5, 1.0, 1.5, 2.0],
}
DO_LIMITS = [7.5, 6, 5, 3, 2]
STEP = 1e-3


@pytest.fixture(scope="module")
def rules() -> WaterRules:
    return load_water_rules(CONFIG)


def upper_cases() -> list[tuple[str, str, float, int]]:
    cases = []
    for (parameter, body), limits in UPPER_LIMITS.items():
        for limit in limits:
            # at a limit: the best class whose limit it meets (COD and BOD5 have equal
            # class I and II limits, so a value at them is class I)
            cases.append((parameter, body, limit, limits.index(limit) + 1))
            # just above: the first class whose limit is larger
            worse = next((j for j, lim in enumerate(limits, start=1) if lim > limit), 6)
            cases.append((parameter, body, limit + STEP, worse))
    return cases


@pytest.mark.parametrize(("parameter", "body", "value", "expected"), upper_cases())
def test_upper_limits_at_and_just_above(rules: WaterRules, parameter: str, body: str,
                                        value: float, expected: int) -> None:
    assert parameter_class(rules, parameter, [value], body)[0] == expected


@pytest.mark.parametrize(("value", "expected"), [
    *[(limit, k) for k, limit in enumerate(DO_LIMITS, start=1)],
    *[(limit - STEP, k + 1) for k, limit in enumerate(DO_LIMITS, start=1)],
    (12.0, 1), (0.0, 6),
])
def test_dissolved_oxygen_is_a_minimum(rules: WaterRules, value: float, expected: int) -> None:
    assert parameter_class(rules, "do", [value])[0] == expected
    assert parameter_class(rules, "do", [value], "lake")[0] == expected


@pytest.mark.parametrize(("value", "expected"), [(6.0, 1), (9.0, 1), (7.3, 1),
                                                 (6.0 - STEP, 6), (9.0 + STEP, 6)])
def test_ph_range(rules: WaterRules, value: float, expected: int) -> None:
    assert parameter_class(rules, "ph", [value])[0] == expected


def test_river_and_lake_tp_differ(rules: WaterRules) -> None:
    values = np.array([0.02, 0.05, 0.1, 0.2])
    bodies = ["river", "lake", "reservoir", None]
    assert parameter_class(rules, "tp", values, bodies).tolist() == [1, 3, 4, 3]
    assert parameter_class(rules, "tp", values, "river").tolist() == [1, 2, 2, 3]
    assert parameter_class(rules, "tp", values, "lake").tolist() == [2, 3, 4, 5]


def test_tn_has_no_river_class_and_missing_values_give_nan(rules: WaterRules) -> None:
    assert np.isnan(parameter_class(rules, "tn", [0.3], "river")).all()
    assert parameter_class(rules, "tn", [0.3], "lake").tolist() == [2]
    classes = parameter_class(rules, "nh3n", [np.nan, -0.1, 0.2])
    assert np.isnan(classes[:2]).all() and classes[2] == 2


def test_bad_names_raise_listing_the_allowed(rules: WaterRules) -> None:
    with pytest.raises(ValueError, match="no GB 3838-2002 class limits for 'pm25'"):
        parameter_class(rules, "pm25", [1.0])
    with pytest.raises(ValueError, match=r"unknown water_body.*sea.*allowed: lake, reservoir"):
        parameter_class(rules, "tp", [0.1, 0.1], ["river", "sea"])
    with pytest.raises(ValueError, match="unknown assessment 'nope'"):
        assess_sections(pd.DataFrame({"tp": [0.1]}), rules, assessment="nope")


def test_class_limit(rules: WaterRules) -> None:
    assert class_limit(rules, "tp", [3, 3], ["river", "lake"]).tolist() == [0.2, 0.05]
    assert np.isnan(class_limit(rules, "tp", [0, 6], "river")).all()


def sections() -> pd.DataFrame:
    return pd.DataFrame(
        {"ph": [7.5, 7.2, np.nan, 8.0], "do": [6.7, 0.8, 9.0, 8.0],
         "codmn": [2.6, 7.07, np.nan, 1.0], "nh3n": [0.07, 3.693, 0.1, 0.1],
         "tp": [0.035, 0.281, 0.04, 0.04], "tn": [5.0, 7.0, 1.2, 1.2]},
        index=pd.Index(["a", "b", "c", "d"], name="station_id"))


def test_section_class_is_the_worst_assessed_parameter(rules: WaterRules) -> None:
    result = assess_sections(sections(), rules,
                             water_body=pd.Series(["river", "river", "lake", "river"],
                                                  index=sections().index),
                             target_class=pd.Series([3, 3, 2, 1], index=sections().index))
    assert result["water_class"].tolist() == [2, 6, 3, 2]
    assert result["worst_parameters"].tolist() == ["do, codmn, tp", "do, nh3n", "tp", "tp"]
    assert result["missing"].tolist() == ["", "", "ph, codmn", ""]
    assert "class_tn" not in result  # TN is not assessed (cnemc_realtime)
    # exceedance multiple (C - limit) / limit against the target class; none for DO
    b = result.loc["b"]
    assert b["exceedance_nh3n"] == pytest.approx((3.693 - 1.0) / 1.0)
    assert b["exceedance_codmn"] == pytest.approx((7.07 - 6) / 6)
    assert b["exceedance_tp"] == pytest.approx((0.281 - 0.2) / 0.2)
    assert np.isnan(b["exceedance_do"])
    assert b["exceeding"] == "do, codmn 0.18, nh3n 2.69, tp 0.41"
    assert result.loc["c", "exceedance_tp"] == pytest.approx((0.04 - 0.025) / 0.025)
    assert result["meets_target"].tolist() == [True, False, False, False]
    assert np.isnan(result.loc["a", ["exceedance_do", "exceedance_tp"]].astype(float)).all()


def test_section_without_target_or_values(rules: WaterRules) -> None:
    values = pd.DataFrame({"tp": [np.nan, 0.05]}, index=["x", "y"])
    result = assess_sections(values, rules)
    assert result["water_class"].isna().tolist() == [True, False]
    assert result["meets_target"].isna().all()
    assert result.loc["x", "missing"] == "ph, do, codmn, nh3n, tp"


def test_full_table_assessment_includes_cod_and_bod5(rules: WaterRules) -> None:
    values = pd.DataFrame({"ph": [7], "do": [8], "codmn": [1], "nh3n": [0.1], "tp": [0.01],
                           "cod": [15.0], "bod5": [3.5]})
    result = assess_sections(values, rules, assessment="gb3838", target_class=2)
    assert result.loc[0, "water_class"] == 3  # BOD5 3.5 > 3 (class II) -> III
    assert result.loc[0, "exceeding"] == "bod5 0.17"


def readings(rows: list[tuple[str, str, str, float, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["station_id", "time", "parameter", "value", "flag"])
    return frame.assign(time=pd.to_datetime(frame["time"], utc=True), period="4h", unit="mg/L",
                        flag_reason=None, source="test", source_file="f",
                        source_row=range(len(frame)))[READING_COLUMNS]


def test_period_assessment_of_a_cross_border_section(rules: WaterRules) -> None:
    stations = pd.DataFrame([
        {"station_id": "cnw:黎河桥", "medium": "water", "water_body": "river",
         "target_class": 3, "upstream_region": "hebei", "downstream_region": "tianjin"},
        {"station_id": "cnw:密云水库", "medium": "water", "water_body": "reservoir",
         "target_class": 2},
    ]).reindex(columns=STATION_COLUMNS)
    data = readings([
        ("cnw:黎河桥", "2026-08-01T00:00Z", "nh3n", 0.8, "valid"),
        ("cnw:黎河桥", "2026-08-02T00:00Z", "nh3n", 1.4, "valid"),   # mean 1.1 -> IV
        ("cnw:黎河桥", "2026-08-03T00:00Z", "nh3n", 9.9, "invalid"),  # excluded
        ("cnw:黎河桥", "2026-09-01T00:00Z", "nh3n", 9.9, "valid"),    # outside the period
        ("cnw:黎河桥", "2026-08-01T00:00Z", "do", 6.5, "valid"),
        ("cnw:密云水库", "2026-08-01T00:00Z", "tp", 0.02, "valid"),
        ("cnw:密云水库", "2026-08-01T00:00Z", "wtemp", 25.0, "valid"),  # not a class parameter
    ])
    result = period_assessment(data, stations, rules, start=pd.Timestamp("2026-08-01T00:00Z"),
                               end=pd.Timestamp("2026-09-01T00:00Z"))
    river = result.loc["cnw:黎河桥"]
    assert river["nh3n"] == pytest.approx(1.1)
    assert river["n_readings"] == 3
    assert river["water_class"] == 4 and not river["meets_target"]
    assert river["exceeding"] == "nh3n 0.10"
    assert river["cross_border"] and river["upstream_region"] == "hebei"
    reservoir = result.loc["cnw:密云水库"]
    assert reservoir["water_class"] == 2 and reservoir["meets_target"]  # lake TP 0.02 -> II
    assert not reservoir["cross_border"]


def test_bad_water_config_names_file_and_field(tmp_path: Path) -> None:
    shutil.copy(CONFIG / "water.toml", tmp_path / "water.toml")
    text = (tmp_path / "water.toml").read_text(encoding="utf-8")
    (tmp_path / "water.toml").write_text(
        text.replace("limits = [0.15, 0.5, 1.0, 1.5, 2.0]", "limits = [0.15, 1.0, 0.5, 1.5, 2.0]"),
        encoding="utf-8")
    with pytest.raises(ConfigError, match=r"water\.toml: limits\.nh3n.*non-decreasing"):
        load_water_rules(tmp_path)
    (tmp_path / "water.toml").write_text(
        text.replace('river = ["ph", "do", "codmn", "nh3n", "tp"]',
                     'river = ["ph", "do", "codmn", "nh3n", "tn"]'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cnemc_realtime\.river: 'tn' has no river limits"):
        load_water_rules(tmp_path)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.floats(0, 50), min_size=2, max_size=20),
       parameter=st.sampled_from(["codmn", "cod", "bod5", "nh3n", "tp", "do"]),
       body=st.sampled_from(["river", "lake"]))
def test_class_is_monotone_in_concentration(values: list[float], parameter: str,
                                            body: str) -> None:
    rules = load_water_rules(CONFIG)
    ordered = np.sort(np.array(values))
    classes = parameter_class(rules, parameter, ordered, body)
    steps = np.diff(classes)
    # worse with more pollutant; for dissolved oxygen, better with more oxygen
    assert (steps <= 0).all() if parameter == "do" else (steps >= 0).all()
    assert set(np.unique(classes)) <= {1.0, 2.0, 3.0, 4.0, 5.0, 6.0}
