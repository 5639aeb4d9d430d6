"""Load a delimited text file into a frame of data rows, quarantining the lines that are not.

Happy path: the whole file is checked to decode in the feed's encoding and handed to
``pyarrow.csv`` (typed columns, missing markers as nulls).  Any problem (a pyarrow
parse error, undecodable bytes, a header line repeated inside the file) sends the file
down the line-level path, which splits, decodes and parses each line on its own and
quarantines only the lines that are bad, with the line number (1-based, the header
is line 1), raw text, field and reason.
"""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

_BOM = codecs.BOM_UTF8


@dataclass
class Rejected:
    """One input line that could not become a data row."""

    line: int
    field: str | None
    reason: str
    raw: str


@dataclass
class LoadedFile:
    """The data rows of a file and the lines refused on the way.

    Give ``table`` (the rows as pyarrow read them) or ``rows`` (a frame, from the
    line-level path); :attr:`frame` is the rows as a frame either way, converted from the
    table only when first asked for.
    """

    #: Header names, in file order.
    header: list[str]
    #: 1-based line number of each data row.
    lines: np.ndarray
    #: The rows as pyarrow read them (None after the line path).
    table: pa.Table | None = None
    rows: pd.DataFrame | None = None
    rejected: list[Rejected] = field(default_factory=list)
    #: Human-readable notes (empty file, fallback to the line-level path ...).
    notes: list[str] = field(default_factory=list)

    @property
    def frame(self) -> pd.DataFrame:
        """One row per good data line; values typed by pyarrow or left as text."""
        if self.rows is None:
            self.rows = self.table.to_pandas() if self.table is not None else pd.DataFrame()
        return self.rows

    @property
    def data_lines(self) -> int:
        """Data lines seen (good + rejected), the record count of a long file."""
        return len(self.lines) + len(self.rejected)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_problem(data: bytes, encoding: str) -> str | None:
    """Why ``data`` is not text in ``encoding`` (None if it is).

    Chinese text in UTF-8 often also "decodes" as GBK into garbage, so for a non-UTF
    encoding, bytes that are valid UTF-8 with non-ASCII characters are refused too.
    """
    utf = codecs.lookup(encoding).name.startswith("utf")
    if not utf and not data.isascii() and _is_utf8(data):
        return (f"undecodable bytes: the line is UTF-8 text, not {encoding} as the feed "
                "declares (check the feed's encoding setting)")
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        hint = ""
        if utf:
            try:
                data.decode("gb18030")
                hint = " (the bytes are GBK/GB18030 text: check the feed's encoding setting)"
            except UnicodeDecodeError:
                pass
        return (f"undecodable bytes: not valid {encoding} at byte {exc.start} "
                f"({data[exc.start:exc.start + 4]!r}){hint}")
    return None


def _split(raw: bytes) -> tuple[list[bytes], bool]:
    """Lines without their ends, and whether the last line had a line end."""
    terminated = raw.endswith(b"\n")
    lines = raw.split(b"\n")
    if terminated:
        lines.pop()
    return [ln.removesuffix(b"\r") for ln in lines], terminated


def _line_count(raw: bytes) -> int:
    """``len(_split(raw)[0])`` without splitting."""
    return raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)


def _decodes(raw: bytes, encoding: str) -> bool:
    """Whether ``raw`` is text in ``encoding`` (:func:`decode_problem` finds none).

    UTF-8 is checked by pyarrow's validator, without building a Python string.
    """
    if codecs.lookup(encoding).name != "utf-8":
        return decode_problem(raw, encoding) is None
    try:
        pa.array([raw], type=pa.binary()).cast(pa.string())
    except pa.ArrowInvalid:
        return False
    return True


def _fields(text: str, delimiter: str) -> list[str]:
    return next(csv.reader([text], delimiter=delimiter), [])


def _fast(raw: bytes, encoding: str, delimiter: str, header_row: int,
          missing: list[str], text_columns: list[str]) -> LoadedFile | None:
    """Read with pyarrow.csv; None if the file has any problem the line path must handle."""
    if not _decodes(raw, encoding):
        return None
    data = raw.removeprefix(_BOM) if codecs.lookup(encoding).name == "utf-8" else (
        raw.decode(encoding).encode("utf-8"))
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(skip_rows=header_row - 1, use_threads=False,
                                            block_size=max(1 << 20, len(data) + 1)),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                null_values=missing, strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                column_types={c: pa.string() for c in text_columns}),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    header = table.column_names
    if len(set(header)) != len(header):
        return None
    first = pc.cast(table.column(0), pa.string())
    if table.num_rows and pc.any(pc.equal(first, header[0])).as_py():
        return None  # repeated header line: let the line path name it
    lines = np.arange(header_row + 1, header_row + 1 + table.num_rows, dtype="int64")
    return LoadedFile(header=header, lines=lines, table=table)


def _slow(raw: bytes, encoding: str, delimiter: str, header_row: int,
          missing: list[str]) -> LoadedFile:
    """Line-level path: decode and parse line by line, rejecting the bad lines only."""
    raw_lines, terminated = _split(raw.removeprefix(_BOM))
    header_bytes = raw_lines[header_row - 1]
    problem = decode_problem(header_bytes, encoding)
    if problem is not None:
        raise LayoutError(f"header line {header_row}: {problem}")
    header = _fields(header_bytes.decode(encoding), delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []
    rejected: list[Rejected] = []
    last = len(raw_lines)
    for number, line in enumerate(raw_lines[header_row:], start=header_row + 1):
        if not line.strip():
            continue
        if number == last and not terminated:
            text = line.decode(encoding, errors="backslashreplace")
            cells = _fields(text, delimiter)
            if len(cells) < len(header):
                rejected.append(Rejected(number, None, (
                    f"truncated last line: {len(cells)} of {len(header)} fields and no line "
                    "end (file cut off while being written?)"), text))
                continue
        problem = decode_problem(line, encoding)
        if problem is not None:
            rejected.append(Rejected(number, None, problem,
                                     line.decode(encoding, errors="backslashreplace")))
            continue
        text = line.decode(encoding)
        cells = _fields(text, delimiter)
        if cells == header:
            rejected.append(Rejected(number, None, "repeated header line inside the file",
                                     text))
        elif len(cells) != len(header):
            rejected.append(Rejected(
                number, None, f"wrong field count: {len(cells)} fields, header has "
                f"{len(header)}", text))
        else:
            rows.append(cells)
            lines.append(number)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame = frame.where(~frame.isin(missing), None)
    return LoadedFile(header=header, lines=np.asarray(lines, dtype="int64"), rows=frame,
                      rejected=rejected)


class LayoutError(ValueError):
    """The file as a whole cannot be read in the configured layout."""


def load_delimited(raw: bytes, encoding: str, delimiter: str = ",", header_row: int = 1,
                   missing: list[str] | None = None,
                   text_columns: list[str] | None = None) -> LoadedFile:
    """Data rows of a delimited text file given as bytes.

    Parameters
    ----------
    raw : bytes
        the file's content.
    encoding : str
        declared encoding (a Python codec name).
    delimiter, header_row : str, int
        field separator; 1-based line number of the header.
    missing : list of str
        cells that mean "no value" (become nulls).
    text_columns : list of str
        columns to keep as text (station codes, timestamps), never typed.

    Raises
    ------
    LayoutError
        the file has no header line or the header cannot be decoded.
    """
    markers = list(missing if missing is not None else ["", "NA"])
    if not raw.strip():
        return LoadedFile(header=[], lines=np.empty(0, dtype="int64"), rows=pd.DataFrame(),
                          notes=["empty file: no records"])
    if _line_count(raw) < header_row:
        raise LayoutError(f"file has fewer lines than header_row = {header_row}")
    loaded = _fast(raw, encoding, delimiter, header_row, markers, text_columns or [])
    if loaded is None:
        loaded = _slow(raw, encoding, delimiter, header_row, markers)
        loaded.notes.append(f"read line by line ({len(loaded.rejected)} lines refused)")
    if len(loaded.lines) == 0 and not loaded.rejected:
        loaded.notes.append("header only: no records")
    return loaded
