"""CelesTrak OMM element sets (JSON or CSV) into a Constellation.

An Orbit Mean-Elements Message (CCSDS 502.0-B-3) carries the same SGP4 mean elements as a TLE,
as named fields instead of columns. CelesTrak serves it as a JSON list of objects or as CSV with
a header row, both with the field names used here (https://celestrak.org/NORAD/documentation/
gp-data-formats.php). The format is decided by content, not by file extension: text starting
with ``[`` or ``{`` is JSON, anything else is read as CSV (OMM XML and TLE text are recognised
and refused with a pointer to what to use instead).

Fields and units (as CelesTrak writes them):

=====================  ============================================  =======================
field                  meaning and unit                              required / default
=====================  ============================================  =======================
NORAD_CAT_ID           catalog number, 0-339999                      required
EPOCH                  UTC, ``2025-01-23T17:56:17.678016``           required
MEAN_MOTION            revolutions per day (Kozai, as in a TLE), > 0  required
ECCENTRICITY           [0, 1)                                        required
INCLINATION            degrees, [0, 180]                             required
RA_OF_ASC_NODE         degrees, [-360, 360]                          required
ARG_OF_PERICENTER      degrees, [-360, 360]                          required
MEAN_ANOMALY           degrees, [-360, 360]                          required
BSTAR                  drag term, 1 / Earth radii                    required
MEAN_MOTION_DOT        rev/day^2 (the TLE's "ndot / 2")              required
MEAN_MOTION_DDOT       rev/day^3 (the TLE's "nddot / 6")             required
OBJECT_NAME            display name                                  ``sat-<catalog>``
OBJECT_ID              international designator ``1998-067A``        empty
CLASSIFICATION_TYPE    U, C or S                                     U
EPHEMERIS_TYPE         0-9                                           0
ELEMENT_SET_NO         whole number >= 0                             999
REV_AT_EPOCH           whole number >= 0                             0
=====================  ============================================  =======================

Each record becomes a ``Satrec`` through ``Satrec.sgp4init`` with WGS72 constants and the
improved operation mode ``'i'`` -- what ``Satrec.twoline2rv`` uses for a TLE -- so an OMM and the
TLE it was made from propagate to the same position. Angles go in as radians, mean motion as
radians per minute, its derivatives as radians per minute squared and cubed, and the epoch as
days since 1949-12-31 00:00 UTC (the conventions of the sgp4 reference code, Vallado et al.
2006, "Revisiting Spacetrack Report #3", AIAA 2006-6753).

Every problem raises :class:`~orbitlearn.errors.ElementSetError` naming the file, the 1-based
record (and, for CSV, the line), the field, the value found and what is allowed.

>>> sats = parse_omm_text('''[{"OBJECT_NAME": "ISS (ZARYA)", "NORAD_CAT_ID": 25544,
...   "EPOCH": "2008-09-20T12:25:40.104192", "MEAN_MOTION": 15.72125391,
...   "ECCENTRICITY": 0.0006703, "INCLINATION": 51.6416, "RA_OF_ASC_NODE": 247.4627,
...   "ARG_OF_PERICENTER": 130.536, "MEAN_ANOMALY": 325.0288, "BSTAR": -1.1606e-05,
...   "MEAN_MOTION_DOT": -2.182e-05, "MEAN_MOTION_DDOT": 0}]''', source="iss.json")
>>> sats.names, sats.catalog_numbers
(('ISS (ZARYA)',), ('25544',))
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date

from sgp4.api import SGP4_ERRORS, WGS72, Satrec

from orbitlearn.errors import ElementSetError
from orbitlearn.space._element_files import alpha5_to_int, read_element_text
from orbitlearn.space.constellation import Constellation, unique_names

__all__ = ["OMM_REQUIRED_FIELDS", "load_omm", "parse_omm_records", "parse_omm_text"]

#: Fields an OMM record must have for SGP4.
OMM_REQUIRED_FIELDS = (
    "NORAD_CAT_ID",
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "BSTAR",
    "MEAN_MOTION_DOT",
    "MEAN_MOTION_DDOT",
)

_MINUTES_PER_DAY = 1440.0
_DEG = math.pi / 180.0
#: Origin of sgp4's epoch count: 1949-12-31 00:00 UTC (JD 2433281.5).
_SGP4_EPOCH0_ORDINAL = date(1949, 12, 31).toordinal()
_EPOCH_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2}(?:\.\d*)?)(?:Z|[+-]00:?00)?",
    re.IGNORECASE,
)
_EPOCH_EXAMPLE = "an ISO 8601 UTC time such as 2025-01-23T17:56:17.678016"
_CATALOG_RE = re.compile(r"[0-9]{1,6}|[A-HJ-NP-Z][0-9]{4}")


class _RecordProblem(Exception):
    """A problem with one field of one record (wrapped into ElementSetError by the caller)."""


def load_omm(path: str | os.PathLike[str]) -> Constellation:
    """Read a CelesTrak OMM file, JSON or CSV (decided by content, not by extension).

    Returns a :class:`Constellation` with one satellite per record, in file order, with
    ``source`` set to ``path``.

    Raises:
        ElementSetError: the file is missing, unreadable, empty, binary, not UTF-8, malformed
            JSON/CSV, or a record lacks a field or holds a bad value (the message names the
            record, the field, the value and what is allowed).
    """
    name = os.fspath(path)
    return parse_omm_text(read_element_text(name, kind="OMM"), source=name)


def parse_omm_text(text: str, source: str = "<text>") -> Constellation:
    """Parse OMM JSON or CSV text; ``source`` names it in errors and in the result.

    Raises:
        ElementSetError: see :func:`load_omm`.
    """
    stripped = text.lstrip()
    if not stripped:
        raise ElementSetError(
            source, None, "is empty; expected OMM records (a JSON list of objects or CSV)"
        )
    if stripped[0] in "[{":
        return _parse_json(text, source)
    if stripped[0] == "<":
        raise ElementSetError(
            source,
            None,
            "looks like OMM XML, which is not supported; expected OMM JSON or CSV "
            "(CelesTrak FORMAT=json or FORMAT=csv)",
        )
    first_lines = [line for line in stripped.splitlines()[:3] if line.strip()]
    if any(re.match(r"[12] [0-9A-Z ]{5}", line) for line in first_lines):
        raise ElementSetError(
            source, None, "looks like a TLE file, not OMM; read it as a TLE file (--tle)"
        )
    return _parse_csv(text, source)


def parse_omm_records(
    records: Sequence[Mapping[str, object]], source: str = "<records>"
) -> Constellation:
    """Build a constellation from OMM records already read (dicts with the OMM field names).

    Raises:
        ElementSetError: a record lacks a field or holds a bad value (record numbers 1-based).
    """
    if not records:
        raise ElementSetError(source, None, "holds no OMM records")
    satrecs: list[Satrec] = []
    names: list[str] = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, Mapping):
            raise ElementSetError(
                source,
                None,
                f"record {number} is {_json_type(record)}, expected an object with OMM fields "
                "such as NORAD_CAT_ID and EPOCH",
            )
        satrec, name = _record(record, source, number, None)
        satrecs.append(satrec)
        names.append(name)
    return _constellation(satrecs, names, source)


def _parse_json(text: str, source: str) -> Constellation:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        lines = text.splitlines()
        line = lines[exc.lineno - 1] if 0 < exc.lineno <= len(lines) else None
        if line is not None and len(line) > 120:
            start = max(0, exc.colno - 60)
            line = ("..." if start else "") + line[start : start + 120] + "..."
        raise ElementSetError(
            source, exc.lineno, f"is not valid JSON: {exc.msg} (column {exc.colno})", line=line
        ) from None
    except (ValueError, RecursionError) as exc:  # a 5000-digit number, nesting too deep
        raise ElementSetError(source, None, f"is not usable OMM JSON: {exc}") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ElementSetError(
            source, None, f"holds JSON {_json_type(data)}, expected a list of OMM objects"
        )
    if not data:
        raise ElementSetError(source, None, "holds an empty JSON list; expected OMM records")
    return parse_omm_records(data, source)


def _parse_csv(text: str, source: str) -> Constellation:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header: list[str] | None = None
        header_line = 0
        satrecs: list[Satrec] = []
        names: list[str] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().upper() for cell in row]
                header_line = reader.line_num
                _check_header(header, row, source, header_line)
                continue
            number = len(satrecs) + 1
            if len(row) != len(header):
                raise ElementSetError(
                    source,
                    reader.line_num,
                    f"record {number} has {len(row)} values, expected {len(header)} "
                    "(one per header column)",
                    line=",".join(row),
                )
            satrec, name = _record(
                dict(zip(header, row, strict=True)), source, number, reader.line_num
            )
            satrecs.append(satrec)
            names.append(name)
    except csv.Error as exc:
        raise ElementSetError(source, reader.line_num, f"is not valid CSV: {exc}") from None
    if not satrecs:
        raise ElementSetError(
            source, header_line, "has a CSV header but no records; expected one row per satellite"
        )
    return _constellation(satrecs, names, source)


def _check_header(header: list[str], row: list[str], source: str, line: int) -> None:
    missing = [name for name in OMM_REQUIRED_FIELDS if name not in header]
    if len(missing) == len(OMM_REQUIRED_FIELDS):
        raise ElementSetError(
            source,
            line,
            "is neither OMM JSON nor OMM CSV: the first line is not a CSV header with OMM "
            "column names such as OBJECT_NAME,NORAD_CAT_ID,EPOCH,MEAN_MOTION",
            line=",".join(row),
        )
    if missing:
        raise ElementSetError(
            source,
            line,
            f"the CSV header lacks the column(s) {', '.join(missing)}; an OMM record needs "
            f"{', '.join(OMM_REQUIRED_FIELDS)}",
            line=",".join(row),
        )
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise ElementSetError(
            source,
            line,
            f"the CSV header repeats the column(s) {', '.join(duplicated)}",
            line=",".join(row),
        )


def _constellation(satrecs: list[Satrec], names: list[str], source: str) -> Constellation:
    catalogs = [satrec.satnum_str for satrec in satrecs]
    return Constellation(names=unique_names(names, catalogs), satrecs=tuple(satrecs), source=source)


def _record(
    record: Mapping[str, object], source: str, number: int, line: int | None
) -> tuple[Satrec, str]:
    """Validate one record and initialise its ``Satrec``; returns ``(satrec, name)``."""
    label = _label(record)
    where = f"record {number}" + (f" ({label})" if label else "")
    try:
        satrec = _satrec(record)
    except _RecordProblem as exc:
        raise ElementSetError(source, line, f"{where}: {exc}") from None
    name = record.get("OBJECT_NAME")
    name = name.strip() if isinstance(name, str) else ""
    return satrec, name or f"sat-{satrec.satnum_str}"


def _label(record: Mapping[str, object]) -> str:
    for key in ("OBJECT_NAME", "NORAD_CAT_ID"):
        value = record.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return ""


def _satrec(record: Mapping[str, object]) -> Satrec:
    catalog = _catalog(record)
    epoch_days = _epoch_days(record)
    mean_motion = _number(record, "MEAN_MOTION", "revolutions per day > 0", lambda v: v > 0.0)
    eccentricity = _number(record, "ECCENTRICITY", "a number in [0, 1)", lambda v: 0.0 <= v < 1.0)
    inclination = _number(record, "INCLINATION", "degrees in [0, 180]", lambda v: 0 <= v <= 180)
    angles = [
        _number(record, field, "degrees in [-360, 360]", lambda v: -360.0 <= v <= 360.0)
        for field in ("RA_OF_ASC_NODE", "ARG_OF_PERICENTER", "MEAN_ANOMALY")
    ]
    raan, arg_perigee, mean_anomaly = angles
    bstar = _number(record, "BSTAR", "a finite number (1 / Earth radii)")
    ndot = _number(record, "MEAN_MOTION_DOT", "a finite number (rev/day^2)")
    nddot = _number(record, "MEAN_MOTION_DDOT", "a finite number (rev/day^3)")
    classification = _text(record, "CLASSIFICATION_TYPE", "U")
    if classification not in ("U", "C", "S"):
        raise _RecordProblem(f"CLASSIFICATION_TYPE is {classification!r}, expected U, C or S")
    ephemeris_type = _whole(record, "EPHEMERIS_TYPE", 0, 9, default=0)
    element_set = _whole(record, "ELEMENT_SET_NO", 0, None, default=999)
    revolutions = _whole(record, "REV_AT_EPOCH", 0, None, default=0)

    satrec = Satrec()
    # Unit conversions of the sgp4 reference code (twoline2rv): rev/day -> rad/min, and the
    # derivatives per minute squared / cubed.
    rad_per_min = 2.0 * math.pi / _MINUTES_PER_DAY
    satrec.sgp4init(
        WGS72,
        "i",
        catalog,
        epoch_days,
        bstar,
        ndot * rad_per_min / _MINUTES_PER_DAY,
        nddot * rad_per_min / _MINUTES_PER_DAY**2,
        eccentricity,
        arg_perigee * _DEG,
        inclination * _DEG,
        mean_anomaly * _DEG,
        mean_motion * rad_per_min,
        raan * _DEG,
    )
    code = satrec.error
    if code == 0:
        code, _, _ = satrec.sgp4_tsince(0.0)
    if code != 0:
        raise _RecordProblem(
            f"sgp4 rejects these elements (error {code}: {SGP4_ERRORS.get(code, 'unknown')})"
        )
    satrec.classification = classification
    satrec.intldesg = _text(record, "OBJECT_ID", "")[2:].replace("-", "")[:8]
    satrec.ephtype = ephemeris_type
    satrec.elnum = element_set
    satrec.revnum = revolutions
    return satrec


def _raw(record: Mapping[str, object], field: str) -> object:
    value = record.get(field)
    if value is None:
        raise _RecordProblem(f"required field {field} is missing")
    if isinstance(value, str) and not value.strip():
        raise _RecordProblem(f"required field {field} is empty")
    return value


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _number(
    record: Mapping[str, object],
    field: str,
    allowed: str,
    in_range: Callable[[float], bool] | None = None,
) -> float:
    value = _raw(record, field)
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # a JSON integer beyond float range
            number = None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise _RecordProblem(f"{field} is {_shown(value)}, expected {allowed}")
    if in_range is not None and not in_range(number):
        raise _RecordProblem(f"{field} is {_shown(value)}, expected {allowed}")
    return number


def _whole(
    record: Mapping[str, object], field: str, low: int, high: int | None, *, default: int
) -> int:
    value = record.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    allowed = (
        f"a whole number in [{low}, {high}]" if high is not None else f"a whole number >= {low}"
    )
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or number < low or (high is not None and number > high):
        raise _RecordProblem(f"{field} is {_shown(value)}, expected {allowed}")
    return number


def _text(record: Mapping[str, object], field: str, default: str) -> str:
    value = record.get(field)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _RecordProblem(f"{field} is {_shown(value)}, expected text")
    return value.strip() or default


def _catalog(record: Mapping[str, object]) -> int:
    value = _raw(record, "NORAD_CAT_ID")
    allowed = "a catalog number in [0, 339999] (digits or Alpha-5 such as A0001)"
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _CATALOG_RE.fullmatch(value.strip()):
        number = alpha5_to_int(value)
    if number is None or not 0 <= number <= 339_999:
        raise _RecordProblem(f"NORAD_CAT_ID is {_shown(value)}, expected {allowed}")
    return number


def _epoch_days(record: Mapping[str, object]) -> float:
    """EPOCH as days since 1949-12-31 00:00 UTC, the epoch count ``sgp4init`` takes."""
    value = _raw(record, "EPOCH")
    match = _EPOCH_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise _RecordProblem(f"EPOCH is {_shown(value)}, expected {_EPOCH_EXAMPLE}")
    year, month, day, hour, minute = (int(part) for part in match.groups()[:5])
    second = float(match.group(6))
    try:
        ordinal = date(year, month, day).toordinal()
    except ValueError as exc:
        raise _RecordProblem(f"EPOCH is {value!r}, expected {_EPOCH_EXAMPLE} ({exc})") from None
    if not (1957 <= year <= 2100 and hour < 24 and minute < 60 and second < 60.0):
        raise _RecordProblem(f"EPOCH is {value!r}, expected {_EPOCH_EXAMPLE} between 1957 and 2100")
    seconds_of_day = hour * 3600.0 + minute * 60.0 + second
    return (ordinal - _SGP4_EPOCH0_ORDINAL) + seconds_of_day / 86_400.0


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)
