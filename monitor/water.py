"""Surface-water quality class of monitoring sections, GB 3838-2002.

Implements

* the class of one parameter: GB 3838-2002 *Environmental quality standards for surface
  water*, Table 1 (basic items), classes I-V, and "worse than V" (劣V, encoded 6) when a value
  meets no class-V limit.  Equality at a limit belongs to the better class (the table's
  "<=" / ">="); pH has one range (6-9) for all classes, a value outside it meets none;
* the class of a section: the worst class of the parameters assessed for its water-body
  type (river, or lake/reservoir with their own TP limits), and which parameters exceed the
  section's target class and by how many times, (C - limit) / limit, per the surface water
  assessment method 环办[2011]22号 (地表水环境质量评价办法(试行)), which computes no multiple
  for pH and dissolved oxygen;
* for a period: the class of the period-mean concentrations (环办[2011]22号), and whether
  cross-border sections (upstream -> downstream region) met their target.

Limits and the assessed parameter sets are configuration (``config/water.toml``, loaded by
:func:`monitor.rules_config.load_water_rules`).  Values are in canonical units (mg/L; pH
dimensionless).  Everything is vectorized over sections.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from monitor.rules_config import LAKE_LIKE, WATER_BODIES, ClassLimits, WaterRules
from monitor.schema import Flag

#: Class code for "worse than V" (劣V).
WORSE_THAN_V = 6
#: Roman numerals of the class codes, for display.
CLASS_NAMES: dict[int, str] = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "劣V"}
#: Display colours of the class codes.  GB 3838-2002 defines none; these follow the usual
#: convention of national surface-water quality maps (I-II blue, III green, IV yellow,
#: V orange, worse than V red).
CLASS_COLOURS: dict[int, str] = {1: "#1F8BFF", 2: "#1F8BFF", 3: "#22B14C", 4: "#FFD400",
                                 5: "#FF7E00", 6: "#E00000"}

ArrayLike = Sequence[float] | np.ndarray | pd.Series | float
#: One water-body type for all values, or one per value (``river``, ``lake``, ``reservoir``).
WaterBody = str | Sequence[str | None] | pd.Series | None


def is_lake(water_body: WaterBody, shape: tuple[int, ...] = ()) -> np.ndarray:
    """True where the water body is a lake or reservoir (missing counts as a river).

    Raises
    ------
    ValueError
        for a water-body type that is none of ``river``, ``lake``, ``reservoir``.
    """
    given = np.asarray(water_body, dtype=object)
    bodies = np.broadcast_to(given, shape) if given.ndim == 0 else given
    flat = pd.Series(bodies.ravel())
    known = flat.isna() | flat.isin(WATER_BODIES) | (flat == "")
    if not known.all():
        bad = sorted(set(flat[~known].astype(str)))
        raise ValueError(f"unknown water_body {bad}; allowed: {', '.join(sorted(WATER_BODIES))}")
    return flat.isin(LAKE_LIKE).to_numpy().reshape(bodies.shape)


def _limits(rules: WaterRules, parameter: str) -> ClassLimits:
    try:
        return rules.limits[parameter]
    except KeyError:
        raise ValueError(f"no GB 3838-2002 class limits for {parameter!r}; configured: "
                         f"{', '.join(sorted(rules.limits))}") from None


def _grade(values: np.ndarray, limits: list[float], kind: str) -> np.ndarray:
    """Class 1..6 against five limits; a value at a limit gets the better class."""
    ordered = np.sort(np.asarray(limits, dtype=np.float64))
    if kind == "maximum":  # classes = 1 + number of limits strictly below the value
        return np.searchsorted(ordered, values, side="left") + 1.0
    # minimum: 1 + number of limits strictly above the value
    return len(ordered) - np.searchsorted(ordered, values, side="right") + 1.0


def parameter_class(rules: WaterRules, parameter: str, values: ArrayLike,
                    water_body: WaterBody = "river"
                    ) -> np.ndarray:
    """Class (1..5, 6 = worse than V) of each value of one parameter, GB 3838-2002 Table 1.

    Parameters
    ----------
    rules : WaterRules
        The configured limits (``config/water.toml``).
    parameter : str
        Canonical parameter name (``ph do codmn cod bod5 nh3n tp tn``).
    values : array-like
        Concentrations in mg/L (pH dimensionless).
    water_body : str or array-like
        ``river`` (default, also for missing), ``lake`` or ``reservoir``, one or per value.

    Returns
    -------
    numpy.ndarray
        float classes, NaN where the value is missing or negative, or where the table has no
        limit for that water body (e.g. TN for rivers).
    """
    spec = _limits(rules, parameter)
    v = np.asarray(values, dtype=np.float64)
    v = np.where(v < 0, np.nan, v)
    if spec.kind == "range":
        assert spec.range is not None
        low, high = spec.range
        classes = np.where((v >= low) & (v <= high), 1.0, float(WORSE_THAN_V))
    else:
        lake = is_lake(water_body, v.shape)
        classes = np.full(v.shape, np.nan)
        for body_is_lake in (False, True):
            limits = spec.for_body(body_is_lake)
            if limits is not None:
                graded = _grade(v, limits, spec.kind)
                classes = np.where(lake == body_is_lake, graded, classes)
    return np.where(np.isnan(v), np.nan, classes)


def class_limit(rules: WaterRules, parameter: str, target_class: ArrayLike,
                water_body: WaterBody = "river"
                ) -> np.ndarray:
    """The Table 1 limit of ``parameter`` for each target class (1..5); NaN where none."""
    spec = _limits(rules, parameter)
    target = np.asarray(target_class, dtype=np.float64)
    valid = np.isin(target, np.arange(1, 6))
    position = np.where(valid, target, 1).astype(np.int64) - 1
    if spec.kind == "range":
        return np.full(target.shape, np.nan)
    lake = is_lake(water_body, target.shape)
    out = np.full(target.shape, np.nan)
    for body_is_lake in (False, True):
        limits = spec.for_body(body_is_lake)
        if limits is not None:
            out = np.where(lake == body_is_lake, np.asarray(limits)[position], out)
    return np.where(valid, out, np.nan)


def _join_where(mask: pd.DataFrame, text: pd.DataFrame | None = None) -> pd.Series:
    """Per row, the column names (or ``text`` cells) where ``mask`` is True, comma-separated.

    Vectorized over rows (one pass per column).
    """
    joined = np.full(len(mask), "", dtype=object)
    for column in mask.columns:
        word = column if text is None else text[column].to_numpy(dtype=object)
        here = mask[column].to_numpy(dtype=bool)
        separator = np.where(joined != "", ", ", "")
        joined = np.where(here, joined + separator + word, joined)
    return pd.Series(joined, index=mask.index, dtype=object)


def assess_sections(values: pd.DataFrame, rules: WaterRules, *,
                    water_body: str | pd.Series | None = "river",
                    target_class: int | pd.Series | None = None,
                    assessment: str | None = None) -> pd.DataFrame:
    """Class of each section from its parameter values, with exceedances of its target.

    Parameters
    ----------
    values : DataFrame
        One row per section, one column per canonical parameter (mg/L, pH dimensionless).
    rules : WaterRules
        Limits and assessments (``config/water.toml``).
    water_body : str or Series
        Per section (aligned on the index) or for all: ``river``, ``lake``, ``reservoir``.
    target_class : int or Series, optional
        The section's target class (1..5), e.g. from the station table's ``target_class``.
    assessment : str, optional
        Name of the assessment (parameter sets) in ``water.toml``; default from the file.

    Returns
    -------
    DataFrame
        Same index.  ``class_<p>`` per assessed parameter (Int8, 1..6); ``water_class``
        (Int8, NA when no assessed parameter has a value); ``worst_parameters`` (those at the
        section's class); ``missing`` (assessed parameters without a value); ``target_class``;
        ``exceedance_<p>`` (times the target-class limit is exceeded, (C - limit)/limit,
        NaN when not exceeded or not computed for ``p``); ``exceeding`` (e.g.
        ``"nh3n 1.85, do"``); ``meets_target`` (boolean, NA without class or target).
    """
    chosen = rules.assessment(assessment)
    parameters = list(dict.fromkeys([*chosen.river, *chosen.lake]))
    index = values.index
    bodies = water_body if isinstance(water_body, pd.Series) else pd.Series(water_body, index)
    bodies = bodies.reindex(index)
    lake = is_lake(bodies.to_numpy(dtype=object), (len(index),))
    targets = (target_class.reindex(index) if isinstance(target_class, pd.Series)
               else pd.Series(target_class, index=index)).astype("Float64").to_numpy(
                   dtype=np.float64, na_value=np.nan)

    classes, multiples, missing, exceeds = {}, {}, {}, {}
    body_array = bodies.to_numpy(dtype=object)
    for p in parameters:
        assessed = np.where(lake, p in chosen.lake, p in chosen.river)
        column = values[p] if p in values.columns else pd.Series(np.nan, index=index)
        v = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        classes[p] = np.where(assessed, parameter_class(rules, p, v, body_array), np.nan)
        missing[p] = assessed & np.isnan(classes[p])
        exceeds[p] = classes[p] > targets
        limit = class_limit(rules, p, targets, body_array)
        with np.errstate(all="ignore"):
            multiple = (v - limit) / limit
        computed = p not in rules.standard.no_exceedance_multiple
        multiples[p] = np.where(exceeds[p] & computed, multiple, np.nan)

    class_frame = pd.DataFrame(classes, index=index)
    water_class = class_frame.max(axis=1, skipna=True)
    out = pd.DataFrame(index=index)
    for p in parameters:
        out[f"class_{p}"] = class_frame[p].astype("Int8")
    out["water_class"] = water_class.astype("Int8")
    out["worst_parameters"] = _join_where(class_frame.eq(water_class, axis=0))
    out["missing"] = _join_where(pd.DataFrame(missing, index=index))
    out["target_class"] = pd.array(targets, dtype="Float64").astype("Int8")
    labels = pd.DataFrame({p: np.where(np.isnan(multiples[p]), p,
                                       np.char.add(f"{p} ", np.char.mod("%.2f", multiples[p])))
                           for p in parameters}, index=index, dtype=object)
    for p in parameters:
        out[f"exceedance_{p}"] = multiples[p]
    out["exceeding"] = _join_where(pd.DataFrame(exceeds, index=index), labels)
    meets = pd.array(water_class.to_numpy() <= targets, dtype="boolean")
    meets[np.isnan(water_class.to_numpy()) | np.isnan(targets)] = pd.NA
    out["meets_target"] = meets
    return out


def period_assessment(readings: pd.DataFrame, stations: pd.DataFrame, rules: WaterRules, *,
                      start: pd.Timestamp, end: pd.Timestamp,
                      assessment: str | None = None) -> pd.DataFrame:
    """Class of each section from its period-mean concentrations, and target attainment.

    The period class is that of the mean of each parameter's valid readings in
    ``[start, end)`` (环办[2011]22号: a section is assessed on period means).

    Parameters
    ----------
    readings : DataFrame
        Canonical readings (:data:`monitor.schema.READING_COLUMNS`); readings flagged
        ``invalid`` and parameters without class limits are ignored.
    stations : DataFrame
        Station table (:data:`monitor.schema.STATION_COLUMNS`): ``water_body``,
        ``target_class``, ``upstream_region``, ``downstream_region`` are used.
    start, end : Timestamp
        The period (UTC; ``end`` exclusive).

    Returns
    -------
    DataFrame
        Indexed by ``station_id``: the means per parameter, ``n_readings``, the columns of
        :func:`assess_sections`, ``upstream_region``, ``downstream_region`` and
        ``cross_border`` (both regions known and different).
    """
    times = pd.to_datetime(readings["time"], utc=True)
    keep = (
        readings["parameter"].isin(list(rules.limits))
        & (readings["flag"] != Flag.INVALID.value)
        & (times >= pd.Timestamp(start)) & (times < pd.Timestamp(end))
    )
    chosen = readings.loc[keep, ["station_id", "parameter", "value"]]
    grouped = chosen.groupby(["station_id", "parameter"])["value"]
    means = grouped.mean().unstack("parameter")
    counts = chosen.groupby("station_id").size()
    meta = stations.drop_duplicates("station_id").set_index("station_id").reindex(means.index)
    result = assess_sections(means, rules, water_body=meta["water_body"],
                             target_class=meta["target_class"], assessment=assessment)
    result.insert(0, "n_readings", counts.reindex(means.index).to_numpy())
    up, down = meta["upstream_region"], meta["downstream_region"]
    result["upstream_region"] = up
    result["downstream_region"] = down
    result["cross_border"] = up.notna() & down.notna() & (up != down)
    return pd.concat([means, result], axis=1)
