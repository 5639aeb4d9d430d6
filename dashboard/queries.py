"""The dashboard's reads: current station and city state, series, water classes, freshness.

Each function only selects and joins; every rule comes from ``monitor`` (AQI and its
categories from :mod:`monitor.aqi`, water classes from :mod:`monitor.water`, feed
freshness from :func:`ingest.pipeline.feed_status`).  "Current" is each station's latest
reading in the store, so a replayed archive shows its own last hour.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.context import DashboardContext
from ingest.pipeline import feed_status
from monitor.aqi import categories, city_aqi, realtime_aqi
from monitor.schema import READING_COLUMNS, Medium
from monitor.water import CLASS_COLOURS, CLASS_NAMES, assess_sections

#: Marker colour of a station without a current AQI or class.
NO_VALUE_COLOUR = "#BDBDBD"
#: Columns of :func:`station_status`.
STATUS_COLUMNS: list[str] = ["station_id", "name", "region", "city", "lon", "lat", "medium",
                             "latest", "value", "label", "colour", "detail"]


def latest_per_station(ctx: DashboardContext) -> pd.Series:
    """Latest usable reading time of each station (over all feeds), indexed by station_id."""
    latest = ctx.store.latest_by_station()
    return latest.groupby("station_id")["time_max"].max()


def member_stations(ctx: DashboardContext, medium: str | None = None) -> pd.DataFrame:
    """Stations of the participating regions that have readings, with their ``latest`` time
    (kept until a readings file is written; callers must not modify the frame)."""
    def compute() -> pd.DataFrame:
        stations = ctx.store.stations(regions=ctx.member_regions, medium=medium)
        latest = latest_per_station(ctx).rename("latest")
        return stations.merge(latest, left_on="station_id", right_index=True, how="inner"
                              ).reset_index(drop=True)

    return ctx.cached("member_stations", (medium,), compute)


def _readings_at_latest(ctx: DashboardContext, stations: pd.DataFrame) -> pd.DataFrame:
    """Readings of each station at its own latest time (one store read per distinct time)."""
    frames = [ctx.store.readings(stations=group["station_id"].tolist(), start=moment, end=moment)
              for moment, group in stations.groupby("latest")]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=READING_COLUMNS)


def _with_categories(aqi: pd.DataFrame) -> pd.DataFrame:
    """``aqi`` rows with the HJ 633 category name and colour of their own standard."""
    parts = []
    for standard, rows in aqi.groupby("standard"):
        cats = categories(rows["aqi"].to_numpy(), str(standard))
        parts.append(rows.assign(category_name=cats["name_zh"].to_numpy(),
                                 colour=cats["colour"].to_numpy()))
    return pd.concat(parts) if parts else aqi.assign(category_name=None, colour=None)


def _air_status(ctx: DashboardContext, stations: pd.DataFrame) -> pd.DataFrame:
    readings = _readings_at_latest(ctx, stations)
    if readings.empty:
        return pd.DataFrame(columns=["station_id", "value", "label", "colour", "detail"])
    aqi = _with_categories(realtime_aqi(readings)).dropna(subset=["aqi"])
    aqi = aqi.sort_values("time").drop_duplicates("station_id", keep="last")
    primary = aqi["primary_pollutants"].fillna("-")
    return pd.DataFrame({
        "station_id": aqi["station_id"], "value": aqi["aqi"],
        "label": "AQI " + aqi["aqi"].map("{:.0f}".format) + " " + aqi["category_name"],
        "colour": aqi["colour"], "detail": "primary: " + primary + " (" + aqi["standard"] + ")",
    })


def water_classes(ctx: DashboardContext, readings: pd.DataFrame, stations: pd.DataFrame
                  ) -> pd.DataFrame:
    """GB 3838-2002 class of each section at each reading time (``monitor.water``).

    Returns one row per (station_id, time) with ``water_class``, ``target_class``,
    ``meets_target`` and ``exceeding``.
    """
    columns = ["station_id", "time", "water_class", "target_class", "meets_target", "exceeding"]
    usable = readings[readings["parameter"].isin(list(ctx.water_rules.limits))]
    if usable.empty:
        return pd.DataFrame(columns=columns)
    values = usable.pivot_table(index=["station_id", "time"], columns="parameter",
                                values="value", aggfunc="first")
    meta = stations.drop_duplicates("station_id").set_index("station_id")
    ids = values.index.get_level_values("station_id")
    assessed = assess_sections(
        values, ctx.water_rules,
        water_body=pd.Series(meta["water_body"].reindex(ids).to_numpy(), index=values.index),
        target_class=pd.Series(meta["target_class"].reindex(ids).to_numpy(),
                               index=values.index))
    return assessed.reset_index()[columns]


def _water_status(ctx: DashboardContext, stations: pd.DataFrame) -> pd.DataFrame:
    classes = water_classes(ctx, _readings_at_latest(ctx, stations), stations)
    classes = classes.dropna(subset=["water_class"])
    codes = classes["water_class"].astype(int)
    target = classes["target_class"].map(lambda t: "-" if pd.isna(t) else CLASS_NAMES[int(t)])
    return pd.DataFrame({
        "station_id": classes["station_id"], "value": codes.astype(float),
        "label": "class " + codes.map(CLASS_NAMES), "colour": codes.map(CLASS_COLOURS),
        "detail": "target " + target + "; exceeding: " + classes["exceeding"].replace("", "-"),
    })


def station_status(ctx: DashboardContext) -> pd.DataFrame:
    """Every station of the participating regions with readings, and its current state.

    Air stations carry their real-time AQI (HJ 633) and category colour, water sections
    their GB 3838-2002 class and its colour, both at the station's latest reading time;
    a station without one is grey.  Columns :data:`STATUS_COLUMNS`.
    """
    stations = member_stations(ctx)
    states = [_air_status(ctx, stations[stations["medium"] == Medium.AIR]),
              _water_status(ctx, stations[stations["medium"] == Medium.WATER])]
    found = [s for s in states if not s.empty]
    state = (pd.concat(found) if found
             else pd.DataFrame(columns=["station_id", "value", "label", "colour", "detail"]))
    merged = stations.merge(state, on="station_id", how="left")
    merged["colour"] = merged["colour"].fillna(NO_VALUE_COLOUR)
    merged["label"] = merged["label"].fillna("no current value")
    merged["detail"] = merged["detail"].fillna("")
    return merged[STATUS_COLUMNS]


def city_status(ctx: DashboardContext) -> pd.DataFrame:
    """Current AQI of each member city (``regions.toml``) at the city's latest hour.

    City AQI from the mean concentrations of its stations (:func:`monitor.aqi.city_aqi`).
    Columns: region, city, time, aqi, category_name, colour, primary_pollutants.
    """
    stations = member_stations(ctx, Medium.AIR)
    city_latest = stations.groupby("city")["latest"].max()
    rows = []
    for region_id, region in ctx.config.regions.items():
        for city in region.cities:
            rows.append({"region": region_id, "city": city,
                         "latest": city_latest.get(city, pd.NaT)})
    cities = pd.DataFrame(rows, columns=["region", "city", "latest"])
    found = []
    for moment, group in cities.dropna(subset=["latest"]).groupby("latest"):
        members = stations[stations["city"].isin(group["city"])]
        readings = ctx.store.readings(stations=members["station_id"].tolist(),
                                      start=moment, end=moment)
        if not readings.empty:
            found.append(city_aqi(readings, members))
    aqi = (_with_categories(pd.concat(found, ignore_index=True)).rename(columns={"group": "city"})
           if found else pd.DataFrame(columns=["city", "time", "aqi", "category_name", "colour",
                                               "primary_pollutants"]))
    merged = cities.merge(aqi[["city", "time", "aqi", "category_name", "colour",
                               "primary_pollutants"]], on="city", how="left")
    merged["colour"] = merged["colour"].fillna(NO_VALUE_COLOUR)
    return merged


def freshness(ctx: DashboardContext, now: pd.Timestamp) -> pd.DataFrame:
    """Latest reading per feed and region with ``stale`` (as ``jointwatch status``)."""
    frame = feed_status(ctx.config, ctx.store, now)
    seconds = frame["age"].map(lambda a: np.nan if pd.isna(a) else a.total_seconds())
    return frame.assign(age_hours=(seconds / 3600).round(1)).drop(columns="age")
