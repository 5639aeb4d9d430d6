"""The UCI Beijing multi-site files become canonical readings (CO to mg/m³, compass to degrees)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from ingest_support import SAMPLES, context, reading

from ingest import uci_beijing_multisite
from monitor.config import AppConfig

FOLDER = SAMPLES / "uci_beijing_multisite"


@pytest.fixture(scope="module")
def aoti(config: AppConfig):
    return uci_beijing_multisite.read(
        FOLDER / "PRSA_Data_Aotizhongxin_20130301-20170228.csv",
        config.feeds["uci_beijing_multisite"], context(config))


def test_first_sample_hour_in_utc_and_canonical_units(aoti) -> None:
    # 26305,2016,3,1,0,63,83,20,72,1200,15,0.4,1023.9,-14.8,0,"S",1.4,"Aotizhongxin"
    at = "2016-02-29T16:00Z"  # Beijing 2016-03-01 00:00
    co = reading(aoti, "cn:1011A", at, "co")
    assert co["value"] == pytest.approx(1.2) and co["unit"] == "mg/m3"
    pm25 = reading(aoti, "cn:1011A", at, "pm25")
    assert (pm25["value"], pm25["source_row"]) == (63, 2)
    assert reading(aoti, "cn:1011A", at, "no2")["value"] == 72
    assert reading(aoti, "cn:1011A", at, "temp")["value"] == pytest.approx(0.4)
    assert reading(aoti, "cn:1011A", at, "pres")["value"] == pytest.approx(1023.9)
    assert reading(aoti, "cn:1011A", at, "dewp")["value"] == pytest.approx(-14.8)
    wdir = reading(aoti, "cn:1011A", at, "wdir")
    assert (wdir["value"], wdir["unit"]) == (180.0, "degree")
    assert reading(aoti, "cn:1011A", at, "wspd")["value"] == pytest.approx(1.4)
    assert reading(aoti, "cn:1011A", at, "rain")["value"] == 0


def test_a_year_of_hours_all_stored(aoti) -> None:
    aoti.check()
    assert aoti.records == aoti.stored_records == 8760
    assert aoti.quarantine.empty
    assert aoti.readings["time"].min() == pd.Timestamp("2016-02-29T16:00Z")
    assert aoti.readings["time"].max() == pd.Timestamp("2017-02-28T15:00Z")
    assert set(aoti.readings["parameter"].astype(str)) == {
        "pm25", "pm10", "so2", "no2", "co", "o3", "temp", "pres", "dewp", "rain", "wdir",
        "wspd"}


def test_na_becomes_invalid_missing(aoti) -> None:
    missing = aoti.readings[aoti.readings["value"].isna()]
    assert len(missing) > 0
    assert set(missing["flag"].astype(str)) == {"invalid"}
    assert set(missing["flag_reason"]) == {"missing"}


def test_station_without_national_counterpart_keeps_uci_id(config: AppConfig) -> None:
    result = uci_beijing_multisite.read(
        FOLDER / "PRSA_Data_Dingling_20130301-20170228.csv",
        config.feeds["uci_beijing_multisite"], context(config)).check()
    assert set(result.readings["station_id"].astype(str)) == {"uci:Dingling"}


def test_station_map_names_exist_in_the_national_list(config: AppConfig) -> None:
    ids = context(config).stations.set_index("station_id")
    mapping = config.feeds["uci_beijing_multisite"].options["station_map"]
    names = {"Aotizhongxin": "奥体中心", "Wanshouxigong": "万寿西宫", "Tiantan": "天坛",
             "Guanyuan": "官园", "Changping": "昌平镇", "Shunyi": "顺义新城"}
    for uci_name, chinese in names.items():
        assert ids.loc[mapping[uci_name], "name"] == chinese


@pytest.mark.shared
def test_full_file_first_row(config: AppConfig, shared_data: Path) -> None:
    result = uci_beijing_multisite.read(
        shared_data / "uci_beijing_multisite" / "PRSA_Data_Aotizhongxin_20130301-20170228.csv",
        config.feeds["uci_beijing_multisite"], context(config)).check()
    assert result.records == result.stored_records == 35064
    # 1,2013,3,1,0,4,4,4,7,300,77,-0.7,1023,-18.8,0,"NNW",4.4,"Aotizhongxin"
    at = "2013-02-28T16:00Z"
    assert reading(result, "cn:1011A", at, "co")["value"] == pytest.approx(0.3)
    assert reading(result, "cn:1011A", at, "wdir")["value"] == 337.5
    assert reading(result, "cn:1011A", at, "dewp")["value"] == pytest.approx(-18.8)
    assert reading(result, "cn:1011A", at, "o3")["value"] == 77
