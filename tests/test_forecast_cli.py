"""``jointwatch forecast / decide / backtest`` end to end on the bundled sample in a real store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ingest.pipeline import run_ingest
from monitor.cli import main
from monitor.config import AppConfig
from monitor.forecast_cache import CACHE_DIR
from monitor.store import Store

PROJECT = Path(__file__).resolve().parent.parent
ISSUE = "2017-01-02T10:00"  # local (Asia/Shanghai): first forecast day 2017-01-02


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory, config: AppConfig) -> Path:
    data = tmp_path_factory.mktemp("forecast") / "var"
    run_ingest(config, Store(data), ["uci_beijing_multisite"])
    return data


def _run(capsys: pytest.CaptureFixture[str], data: Path, *argv: str) -> tuple[int, str, str]:
    """Run jointwatch; global options (``--config``) may lead ``argv``."""
    code = main(["--data-dir", str(data), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_forecast_json_and_cache(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, store_dir, "forecast", "--region", "beijing", "--issue-time",
                        ISSUE, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["first_day"] == "2017-01-02"
    city = doc["cities"]["beijing"]["北京市"]
    assert city["status"] == "ok" and city["mode"] == "history-only"
    assert [d["horizon"] for d in city["days"]] == [1, 2, 3, 4]
    for day in city["days"]:
        assert day["aqi_lo80"] <= day["aqi_hi80"] and 0 <= day["p_gt_300"] <= day["p_gt_150"]
    assert len(city["concentrations"]) == 24
    decision = doc["decision"]
    assert decision["regions"] == ["beijing"] and decision["rule"] == "k_of_n(k=2)"
    issue = pd.Timestamp(ISSUE, tz="Asia/Shanghai")
    assert pd.Timestamp(decision["effective_start"]) - issue >= pd.Timedelta(hours=24)
    assert decision["level"] == decision["city_levels"]["beijing"]["北京市"]
    cached = list((store_dir / CACHE_DIR).glob("*.json"))
    assert len(cached) == 1
    params = json.loads(cached[0].read_text())["models"]["pm25"]
    # a later run within refit_every_days reuses the parameters and moves the state only
    code, _, _ = _run(capsys, store_dir, "decide", "--region", "beijing", "--issue-time",
                      "2017-01-05T10:00", "--json")
    assert code == 0
    again = json.loads(cached[0].read_text())["models"]["pm25"]
    assert again["params"] == params["params"]
    assert again["state_until"] == "2017-01-05"


def test_forecast_text_names_cities_without_data(store_dir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, store_dir, "forecast", "--region", "jjj", "--issue-time", ISSUE)
    assert code == 0
    assert "beijing/北京市 (history-only) own grade:" in out
    assert "tianjin/天津市: insufficient data" in out
    assert "REGIONAL DECISION:" in out


def test_unknown_area_is_a_clear_error(store_dir: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, store_dir, "forecast", "--region", "atlantis")
    assert code == 1
    assert "unknown area or region 'atlantis'" in err and "jjj" in err


def test_backtest_json_format(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, store_dir, "backtest", "--region", "beijing", "--start",
                        "2016-12-01", "--end", "2016-12-06", "--rule-set", "jjj_2016", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["mode"] == "history-only"
    assert set(doc["horizons"]) == {"1", "2", "3", "4"}
    for row in doc["horizons"].values():
        assert set(row) == {"model", "persistence", "climatology"}
        # the one-year sample has no earlier year: climatology is absent, not zero
        assert row["climatology"]["n"] == 0 and row["climatology"]["pm25_rmse"] is None
        assert row["model"]["n"] == row["persistence"]["n"] > 0
    assert doc["grades"]["model"]["n"] == 6


def test_backtest_with_too_little_history(store_dir: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, store_dir, "backtest", "--region", "beijing", "--start",
                        "2016-04-01", "--end", "2016-04-03")
    assert code == 1
    assert "no origin had enough history" in err and "at least 180 are needed" in err


def test_per_station_forecasts(store_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, store_dir, "forecast", "--region", "beijing", "--issue-time",
                        ISSUE, "--stations", "--json")
    assert code == 0
    stations = json.loads(out)["stations"]
    with_data = {sid for sid, f in stations.items() if f["status"] == "ok"}
    assert with_data == {"cn:1001A", "cn:1011A"}  # the sample's stations with a city
    assert all(f["status"] == "insufficient data" for sid, f in stations.items()
               if sid not in with_data)


def test_weather_feed_is_used_when_configured(store_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """With ``weather_source`` set, the weather model is used (here the sample's observed
    weather plays the weather-forecast feed)."""
    config_dir = tmp_path / "config"
    shutil.copytree(PROJECT / "config", config_dir)
    toml = config_dir / "forecast.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        '# weather_source = "cma_city_forecast"', 'weather_source = "uci_beijing_multisite"'),
        encoding="utf-8")
    code, out, _ = _run(capsys, store_dir, "--config", str(config_dir), "forecast", "--region",
                        "beijing", "--issue-time", ISSUE, "--json")
    assert code == 0
    city = json.loads(out)["cities"]["beijing"]["北京市"]
    assert city["status"] == "ok" and city["mode"] == "weather-forecast"
    # at the end of the sample there is no weather for the forecast days: history-only
    code, out, _ = _run(capsys, store_dir, "--config", str(config_dir), "forecast", "--region",
                        "beijing", "--issue-time", "2017-02-27T10:00", "--json")
    assert json.loads(out)["cities"]["beijing"]["北京市"]["mode"] == "history-only"
