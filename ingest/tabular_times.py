"""Timestamps of tabular files: local date and time columns to UTC."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from ingest.harmonize import local_to_utc
from ingest.tabular_options import TabularOptions


def parse_texts(texts: list[str] | np.ndarray, fmt: str | None, timezone: str | None
                ) -> np.ndarray:
    """Timestamp texts (blanks around them ignored) as ``datetime64[ns]``: UTC if a
    ``timezone`` is given (local times that do not exist or are ambiguous at a
    daylight-saving change become NaT, as :func:`ingest.harmonize.local_to_utc` does),
    else naive local; NaT where a text cannot be read with ``fmt`` (default ISO 8601).

    A few texts with a ``fmt`` (an hourly file has one) are parsed one by one with
    :func:`datetime.datetime.strptime`, which reads ``fmt`` as pandas does and skips
    pandas' per-call cost; many, or ISO 8601, are parsed by pandas at once.
    """
    if fmt is not None and len(texts) <= _ONE_BY_ONE:
        return np.array([_parse_one(str(t), fmt, timezone) for t in texts],
                        dtype="datetime64[ns]")
    parsed = pd.to_datetime(pd.Index(texts, dtype="string").str.strip(),
                            format=fmt or "ISO8601", errors="coerce")
    if timezone is not None:
        parsed = parsed.tz_localize(timezone, nonexistent="NaT", ambiguous="NaT").tz_convert(
            "UTC").tz_localize(None)
    return parsed.to_numpy(dtype="datetime64[ns]")


#: Up to this many distinct texts, :func:`parse_texts` parses one by one.
_ONE_BY_ONE = 8


def _parse_one(text: str, fmt: str, timezone: str | None) -> np.datetime64:
    try:
        local = pd.Timestamp(datetime.strptime(text.strip(), fmt))
    except ValueError:
        return np.datetime64("NaT", "ns")
    if timezone is None:
        return local.to_datetime64()
    aware = local.tz_localize(timezone, nonexistent="NaT", ambiguous="NaT")
    if aware is pd.NaT:
        return np.datetime64("NaT", "ns")
    return aware.tz_convert("UTC").tz_localize(None).to_datetime64()


def _parse_distinct(text: pd.Series, fmt: str | None, timezone: str | None) -> pd.Series:
    """Each distinct text parsed once (an hourly file has one timepoint), in UTC if a
    ``timezone`` is given, else naive local."""
    codes, uniques = pd.factorize(text)
    stamps = np.append(parse_texts(uniques, fmt, timezone), np.datetime64("NaT", "ns"))
    result = pd.Series(stamps[codes], index=text.index)
    return result.dt.tz_localize("UTC") if timezone is not None else result


def parse_local_times(frame: pd.DataFrame, opts: TabularOptions, timezone: str) -> pd.Series:
    """UTC time of each row (NaT where the local timestamp cannot be read).

    Hours may run 0-24 (24 is midnight ending the day); fractional hours are invalid.
    """
    spec = opts.time
    if spec.column is not None:
        return _parse_distinct(frame[spec.column], spec.format, timezone)
    if spec.date is not None:
        day = _parse_distinct(frame[spec.date], spec.format, None)
    else:
        parts = {k: pd.to_numeric(frame[getattr(spec, k)], errors="coerce")
                 for k in ("year", "month", "day")}
        day = pd.to_datetime(pd.DataFrame(parts), errors="coerce")
    hour = (pd.to_numeric(frame[spec.hour], errors="coerce") if spec.hour is not None
            else pd.Series(0.0, index=frame.index))
    whole = hour.where((hour % 1 == 0) & (hour >= 0) & (hour <= 24))
    return local_to_utc(day + pd.to_timedelta(whole, unit="h"), timezone)
