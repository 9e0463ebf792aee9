"""Two-line element sets (TLE): strict reading of 2- and 3-line files into a Constellation.

A TLE file holds one element set per satellite: an optional title line (the name; a leading
``"0 "`` as in CelesTrak's 3LE files is dropped), then line 1 and line 2, each exactly 69
characters in fixed columns with a modulo-10 checksum in column 69. Files may mix sets with and
without a title; blank lines are skipped.

sgp4 itself reads whatever sits in each column and checks neither the layout nor the checksum, so
a damaged line would propagate silently to a wrong orbit. Here every line is checked before it
reaches sgp4: its length, the spaces between fields, each field's characters and range, the
checksum, the order of lines 1 and 2 and that both carry the same catalog number. Every problem
raises :class:`~orbitlearn.errors.ElementSetError` naming the file, the 1-based line, the value
found and what is expected there.

Columns (1-based, inclusive), after the "Two-Line Element Set Coordinate System" definition
published by CelesTrak (T.S. Kelso, https://celestrak.org/columns/v04n03/) and NORAD's
Spacetrack Report No. 3:

====  ========================================  ==========================================
line  columns                                   field
====  ========================================  ==========================================
1     1, 3-7, 8, 10-17                          line number, catalog number (Alpha-5
                                                allowed), classification, international
                                                designator
1     19-20, 21-32                              epoch year (57-99 -> 19xx, 00-56 -> 20xx),
                                                epoch day of year
1     34-43, 45-52, 54-61                       mean motion first and second derivatives,
                                                BSTAR (the last two with an implied decimal
                                                point and exponent, ``-11606-4``)
1     63, 65-68, 69                             ephemeris type, element set number, checksum
2     1, 3-7                                    line number, catalog number
2     9-16, 18-25, 27-33                        inclination, RAAN (deg), eccentricity (implied
                                                leading decimal point)
2     35-42, 44-51, 53-63, 64-68, 69            argument of perigee, mean anomaly (deg), mean
                                                motion (rev/day), revolution number, checksum
====  ========================================  ==========================================

Duplicated names or catalog numbers are kept (every element set becomes a satellite, in file
order); names are made unique with :func:`orbitlearn.space.constellation.unique_names`.
A set without a title is named ``"sat-<catalog number>"``.

>>> text = '''ISS (ZARYA)
... 1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927
... 2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537'''
>>> sats = parse_tle_text(text, source="iss.tle")
>>> sats.names, sats.catalog_numbers
(('ISS (ZARYA)',), ('25544',))
>>> parse_tle_text(text.replace("2927", "2928"), source="iss.tle")
Traceback (most recent call last):
...
orbitlearn.errors.ElementSetError: iss.tle, line 2: checksum digit is 8, expected 7 (sum of digits mod 10, '-' counts 1)
    1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2928
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from sgp4.api import SGP4_ERRORS, Satrec

from orbitlearn.errors import ElementSetError
from orbitlearn.space._element_files import alpha5_to_int, read_element_text
from orbitlearn.space.constellation import Constellation, unique_names

__all__ = ["load_tle", "parse_tle_text", "tle_checksum"]

#: Characters in a TLE data line (the checksum sits in column 69).
TLE_LINE_LENGTH = 69


class _ChecksumDigits(dict[int, int]):
    """``str.translate`` table: a digit stays, ``-`` becomes ``1``, anything else ``0``."""

    def __missing__(self, key: int) -> int:
        return ord("0")


_CHECKSUM_DIGITS = _ChecksumDigits({code: ord("0") for code in range(128)})
_CHECKSUM_DIGITS.update({ord(c): ord(c) for c in "0123456789"} | {ord("-"): ord("1")})


def tle_checksum(line: str) -> int:
    """The checksum of a TLE line: digits in columns 1-68 summed, each ``-`` counting 1, mod 10.

    >>> tle_checksum("1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927")
    7
    """
    body = line[: TLE_LINE_LENGTH - 1].translate(_CHECKSUM_DIGITS)
    return (sum(body.encode("ascii")) - ord("0") * len(body)) % 10


@dataclass(frozen=True)
class _Field:
    """One fixed-column field of a TLE line, and what it may hold."""

    name: str
    first: int  # 1-based first column
    last: int  # 1-based last column, inclusive
    pattern: re.Pattern[str]
    expected: str
    in_range: Callable[[float], bool] | None = None
    allowed: str = ""

    @property
    def columns(self) -> str:
        if self.first == self.last:
            return f"column {self.first}"
        return f"columns {self.first}-{self.last}"


# A decimal number right-aligned in its columns, with at least one digit: " 51.6416", "  .5".
_DECIMAL = re.compile(r" *(?=\.?[0-9])[0-9]*\.[0-9]*")
# A number with an implied leading decimal point and a power-of-ten exponent: " 00000-0".
_EXPONENT = re.compile(r" *[+-]?[0-9]+[+-][0-9]")
# Catalog number: five digits, an Alpha-5 letter (A-Z without I and O) and four digits, or a
# number right-aligned with spaces.
_CATALOG = _Field(
    "catalog number",
    3,
    7,
    re.compile(r"[0-9A-HJ-NP-Z][0-9]{4}| *[0-9]+"),
    "5 digits or an Alpha-5 number such as A0001",
)
_CHECKSUM = _Field("checksum digit", 69, 69, re.compile(r"[0-9]"), "a digit")


def _angle(name: str, first: int, last: int, high: float) -> _Field:
    return _Field(
        name,
        first,
        last,
        _DECIMAL,
        "a number of degrees such as 51.6416",
        lambda value: 0.0 <= value <= high,
        f"degrees in [0, {high:g}]",
    )


_LINE1_FIELDS = (
    _CATALOG,
    _Field("classification", 8, 8, re.compile(r"[UCS ]"), "U, C or S"),
    _Field(
        "international designator",
        10,
        17,
        re.compile(r"[0-9A-Z ]{8}"),
        "digits, capital letters or spaces such as '98067A  '",
    ),
    _Field("epoch year", 19, 20, re.compile(r"[0-9]{2}"), "two digits"),
    _Field(
        "epoch day of year",
        21,
        32,
        re.compile(r" *[0-9]{1,3}\.[0-9]+"),
        "a day of year such as 264.51782528",
        lambda value: 1.0 <= value < 367.0,
        "a day of year in [1, 367)",
    ),
    _Field(
        "first derivative of mean motion",
        34,
        43,
        re.compile(r" *[+-]?(?=\.?[0-9])[0-9]*\.[0-9]*"),
        "a number such as -.00002182",
    ),
    _Field(
        "second derivative of mean motion",
        45,
        52,
        _EXPONENT,
        "a number in TLE exponent form such as 00000-0 or -12345-5",
    ),
    _Field(
        "BSTAR drag term",
        54,
        61,
        _EXPONENT,
        "a number in TLE exponent form such as -11606-4",
    ),
    _Field("ephemeris type", 63, 63, re.compile(r"[0-9 ]"), "a digit"),
    _Field("element set number", 65, 68, re.compile(r" *[0-9]*"), "a number of up to 4 digits"),
    _CHECKSUM,
)
_LINE2_FIELDS = (
    _CATALOG,
    _angle("inclination", 9, 16, 180.0),
    _angle("right ascension of the ascending node", 18, 25, 360.0),
    _Field(
        "eccentricity",
        27,
        33,
        re.compile(r" *[0-9]+"),
        "7 digits with an implied leading decimal point such as 0006703",
    ),
    _angle("argument of perigee", 35, 42, 360.0),
    _angle("mean anomaly", 44, 51, 360.0),
    _Field(
        "mean motion",
        53,
        63,
        _DECIMAL,
        "revolutions per day such as 15.72125391",
        lambda value: value > 0.0,
        "revolutions per day > 0",
    ),
    _Field("revolution number", 64, 68, re.compile(r" *[0-9]*"), "a number of up to 5 digits"),
    _CHECKSUM,
)
#: Fields with a range check, by line.
_RANGED_FIELDS: dict[str, tuple[tuple[_Field, Callable[[float], bool]], ...]] = {
    which: tuple((field, field.in_range) for field in fields if field.in_range is not None)
    for which, fields in (("1", _LINE1_FIELDS), ("2", _LINE2_FIELDS))
}
#: 1-based columns that hold a space between fields.
_LINE1_SPACES = (2, 9, 18, 33, 44, 53, 62, 64)
_LINE2_SPACES = (2, 8, 17, 26, 34, 43, 52)


def _right_aligned(width: int) -> str:
    """A regex for a whole number right-aligned in ``width`` columns (at least one digit)."""
    return "(?:" + "|".join(f"{' ' * k}[0-9]{{{width - k}}}" for k in range(width)) + ")"


# Whole-line patterns for the common, zero- or space-padded layout: a line they match passes
# every field pattern above, so only ranges and the checksum remain to be checked. A line they
# do not match goes through the field-by-field check, which names what is wrong (or accepts an
# unusual but valid layout).
_ANGLE = _right_aligned(3) + r"\.[0-9]{4}"
_FAST_LINE1 = re.compile(
    r"1 [0-9A-HJ-NP-Z][0-9]{4}[UCS ] [0-9A-Z ]{8} [0-9]{2}[0-9]{3}\.[0-9]{8} "
    r"[ +-]\.[0-9]{8} [ +-][0-9]{5}[+-][0-9] [ +-][0-9]{5}[+-][0-9] [0-9 ] "
    + _right_aligned(4)
    + "[0-9]"
)
_FAST_LINE2 = re.compile(
    rf"2 [0-9A-HJ-NP-Z][0-9]{{4}} {_ANGLE} {_ANGLE} [0-9]{{7}} {_ANGLE} {_ANGLE} "
    + _right_aligned(2)
    + r"\.[0-9]{8}"
    + f"(?:{_right_aligned(5)}| {{5}})"
    + "[0-9]"
)


def load_tle(path: str | os.PathLike[str]) -> Constellation:
    """Read a TLE file (2- or 3-line element sets, any number of satellites).

    Returns a :class:`Constellation` with one satellite per element set, in file order, with
    ``source`` set to ``path``.

    Raises:
        ElementSetError: the file is missing, unreadable, empty, binary or not UTF-8, or any
            line breaks the TLE format (the message names the line, the value and what is
            expected).
    """
    name = os.fspath(path)
    return parse_tle_text(read_element_text(name, kind="TLE"), source=name)


def parse_tle_text(text: str, source: str = "<text>") -> Constellation:
    """Parse TLE text (2- or 3-line element sets, any number, blank lines skipped).

    ``source`` names the text in error messages and becomes ``Constellation.source``.

    Raises:
        ElementSetError: see :func:`load_tle`.
    """
    head = text.lstrip()[:2000]
    if head[:1] in ("[", "{") or "NORAD_CAT_ID" in head.split("\n", 1)[0].upper():
        raise ElementSetError(
            source, None, "looks like OMM (JSON or CSV), not TLE; read it as an OMM file (--omm)"
        )
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    names: list[str] = []
    satrecs: list[Satrec] = []
    title: tuple[int, str] | None = None
    first: tuple[int, str] | None = None  # a checked line 1 waiting for its line 2

    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        if not line:
            continue
        kind = _kind(line)

        def fail(problem: str, number: int = number, line: str = line) -> ElementSetError:
            shown = line if len(line) <= 120 else line[:117] + "..."
            return ElementSetError(source, number, problem, line=shown)

        if kind == "title":
            if first is not None:
                raise fail(
                    f"expected line 2 (starting '2 ') after line 1 on line {first[0]}, "
                    f"but found {_shorten(line)!r}"
                )
            if title is not None:
                raise fail(
                    f"expected line 1 (starting '1 ') after the title on line {title[0]}, "
                    f"but found {_shorten(line)!r}"
                )
            title = (number, line)
            continue
        _check_indent(line, kind, fail)
        if kind == "1":
            if first is not None:
                raise fail(
                    f"expected line 2 (starting '2 ') after line 1 on line {first[0]}, "
                    "but found another line 1"
                )
            _check_data_line(line, "1", _FAST_LINE1, _LINE1_FIELDS, _LINE1_SPACES, fail)
            first = (number, line)
            continue
        if first is None:
            raise fail("expected line 1 (starting '1 ') but found line 2")
        _check_data_line(line, "2", _FAST_LINE2, _LINE2_FIELDS, _LINE2_SPACES, fail)
        catalog1, catalog2 = first[1][2:7].strip(), line[2:7].strip()
        if catalog1 != catalog2 and alpha5_to_int(catalog1) != alpha5_to_int(catalog2):
            raise fail(f"catalog number {catalog2} on line 2 differs from {catalog1} on line 1")
        satrec = _satrec(first[1], line, fail)
        satrecs.append(satrec)
        names.append(_title_name(title[1]) if title is not None else "")
        if not names[-1]:
            names[-1] = f"sat-{satrec.satnum_str}"
        title = first = None

    if first is not None:
        raise ElementSetError(
            source,
            first[0],
            "line 1 is the last line of the file; expected line 2 (starting '2 ') after it",
            line=first[1],
        )
    if title is not None:
        raise ElementSetError(
            source,
            title[0],
            f"the title {_shorten(title[1])!r} is the last line of the file; "
            "expected line 1 and line 2 after it",
        )
    if not satrecs:
        raise ElementSetError(
            source,
            None,
            "is empty; expected TLE element sets (an optional title line, then line 1 and line 2)",
        )
    catalogs = [satrec.satnum_str for satrec in satrecs]
    return Constellation(names=unique_names(names, catalogs), satrecs=tuple(satrecs), source=source)


def _shorten(line: str, limit: int = 80) -> str:
    """A line for a message: stripped, and cut at ``limit`` characters."""
    text = line.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(line: str) -> str:
    """``"1"`` or ``"2"`` for a data line (possibly indented by mistake), else ``"title"``."""
    head = line.lstrip()[:2]
    if head in ("1 ", "2 ") or head in ("1", "2"):
        return head[0]
    return "title"


def _title_name(line: str) -> str:
    name = line.strip()
    if name == "0" or name.startswith("0 "):
        name = name[1:].strip()
    return name


def _check_indent(line: str, kind: str, fail: Callable[..., ElementSetError]) -> None:
    indent = len(line) - len(line.lstrip())
    if indent:
        raise fail(
            f"line {kind} starts in column {indent + 1}, expected column 1 "
            "(TLE fields sit in fixed columns)"
        )


def _check_data_line(
    line: str,
    which: str,
    fast: re.Pattern[str],
    fields: tuple[_Field, ...],
    spaces: tuple[int, ...],
    fail: Callable[..., ElementSetError],
) -> None:
    """Raise (through ``fail``) at the first way ``line`` breaks the TLE format."""
    if not fast.fullmatch(line):
        _check_layout(line, which, fields, spaces, fail)
    for field, in_range in _RANGED_FIELDS[which]:
        raw = line[field.first - 1 : field.last]
        if not in_range(float(raw)):
            raise fail(f"{field.name} ({field.columns}) is {raw.strip()}, expected {field.allowed}")
    found, expected = int(line[TLE_LINE_LENGTH - 1]), tle_checksum(line)
    if found != expected:
        raise fail(
            f"checksum digit is {found}, expected {expected} (sum of digits mod 10, '-' counts 1)"
        )


def _check_layout(
    line: str,
    which: str,
    fields: tuple[_Field, ...],
    spaces: tuple[int, ...],
    fail: Callable[..., ElementSetError],
) -> None:
    """Raise at the first column where ``line`` breaks the fixed TLE layout."""
    if len(line) != TLE_LINE_LENGTH:
        problem = f"line {which} has {len(line)} characters, expected {TLE_LINE_LENGTH}"
        if len(line) < TLE_LINE_LENGTH:
            problem += " (the line is truncated)"
        raise fail(problem)
    if not line.isascii():
        column, char = next((i + 1, c) for i, c in enumerate(line) if not c.isascii())
        raise fail(f"column {column} holds {char!r}, expected ASCII text")
    for column in spaces:
        if line[column - 1] != " ":
            raise fail(
                f"column {column} is {line[column - 1]!r}, expected a space "
                "(TLE fields sit in fixed columns)"
            )
    for field in fields:
        raw = line[field.first - 1 : field.last]
        if not field.pattern.fullmatch(raw):
            raise fail(
                f"{field.name} ({field.columns}) is {raw.strip()!r}, expected {field.expected}"
            )


def _satrec(line1: str, line2: str, fail: Callable[..., ElementSetError]) -> Satrec:
    """Initialise sgp4 from two checked lines and make sure it can propagate at the epoch."""
    satrec = Satrec.twoline2rv(line1, line2)
    code = satrec.error
    if code == 0:
        code, _, _ = satrec.sgp4_tsince(0.0)
    if code != 0:
        raise fail(
            f"sgp4 rejects this element set (error {code}: {SGP4_ERRORS.get(code, 'unknown')})"
        )
    return satrec
