"""Interval tables: time windows per satellite, stored as numpy columns.

:class:`IntervalTable` is the generic form (a satellite, a start and an end per row, and whether
the window was cut by the edges of the searched span); layers that produce windows (eclipses,
SAA passes, ...) subclass it and add their own columns. :class:`ContactTable` is the form for
communication windows: to a ground station (``station`` column) or to another satellite (``peer``
column, inter-satellite links).

Rows are columns of equal length; every operation returns a new table (tables are immutable).
Times are POSIX seconds UTC (``*_unix_s``); records for JSON and CSV carry ISO 8601 UTC strings.

A subclass declares its extra per-row numpy columns as dataclass fields (every field is a
per-row array except the ``*_names`` label tuples, which rows index into) and its extra output
columns in :meth:`IntervalTable._output_columns`. Tables are frozen dataclasses: a row
selection (:meth:`~IntervalTable.take`, :meth:`~IntervalTable.filter`, ...) keeps the type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import InputError

__all__ = ["ContactTable", "IntervalTable", "format_utc_iso_array"]

T = TypeVar("T", bound="IntervalTable")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def format_utc_iso_array(unix_s: ArrayLike) -> NDArray[np.str_]:
    """Vectorised :func:`orbitlearn.space.timescale.format_utc_iso` (millisecond precision).

    Rounds to the nearest millisecond exactly as ``format_utc_iso(t)`` does and returns the same
    strings, but for a whole array at numpy speed.

    >>> format_utc_iso_array([1767225600.0, 1767225600.2506]).tolist()
    ['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.251Z']
    """
    seconds = np.asarray(unix_s, dtype=np.float64)
    millis = np.floor(seconds * 1e3 + 0.5).astype(np.int64)
    text = np.datetime_as_string(millis.astype("datetime64[ms]"), unit="ms")
    return np.char.add(text, "Z")


def _as_array(values: ArrayLike, dtype: Any) -> NDArray[Any]:
    return np.ascontiguousarray(np.asarray(values, dtype=dtype))


@dataclass(frozen=True, eq=False)
class IntervalTable:
    """Time windows of satellites: one row per window.

    Attributes:
        satellite: satellite index per row, ``int64``, shape ``(n,)``.
        start_unix_s: window start, POSIX seconds UTC, ``(n,)``.
        end_unix_s: window end, POSIX seconds UTC, ``(n,)``.
        start_clipped: ``True`` where the window was already open at the start of the searched
            span (its true start is earlier), ``(n,)``.
        end_clipped: ``True`` where the window was still open at the end of the span, ``(n,)``.
        satellite_names: the names of all satellites the indices refer to.

    >>> table = IntervalTable.from_arrays([1, 0], [20.0, 10.0], [30.0, 25.0], ("a", "b"))
    >>> table.sorted().satellite.tolist(), table.duration_s.tolist()
    ([0, 1], [10.0, 15.0])
    >>> table.to_records()[0]["satellite"], table.to_records()[0]["start"]
    ('b', '1970-01-01T00:00:20.000Z')
    """

    satellite: IntArray
    start_unix_s: FloatArray
    end_unix_s: FloatArray
    start_clipped: BoolArray
    end_clipped: BoolArray
    satellite_names: tuple[str, ...]

    #: What the windows are (``"interval"``, ``"eclipse"``, ...), for records and Arrow metadata.
    kind: ClassVar[str] = "interval"

    def __post_init__(self) -> None:
        n = len(self.satellite)
        for name in self._row_fields():
            column = getattr(self, name)
            if not isinstance(column, np.ndarray) or column.ndim != 1 or len(column) != n:
                raise ValueError(
                    f"Expected column `{name}` to be a 1-D array of {n} rows, "
                    f"actual: {getattr(column, 'shape', type(column).__name__)}"
                )
        if n and (self.satellite.min() < 0 or self.satellite.max() >= len(self.satellite_names)):
            raise ValueError(
                f"Expected satellite indices in [0, {len(self.satellite_names)}), actual range: "
                f"[{self.satellite.min()}, {self.satellite.max()}]"
            )

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_arrays(
        cls,
        satellite: ArrayLike,
        start_unix_s: ArrayLike,
        end_unix_s: ArrayLike,
        satellite_names: Sequence[str],
        *,
        start_clipped: ArrayLike | None = None,
        end_clipped: ArrayLike | None = None,
    ) -> IntervalTable:
        """A generic table from array-likes (clipped flags default to ``False``)."""
        sat = _as_array(satellite, np.int64)
        return IntervalTable(
            satellite=sat,
            start_unix_s=_as_array(start_unix_s, np.float64),
            end_unix_s=_as_array(end_unix_s, np.float64),
            start_clipped=_flags(start_clipped, len(sat)),
            end_clipped=_flags(end_clipped, len(sat)),
            satellite_names=tuple(satellite_names),
        )

    @classmethod
    def _row_fields(cls) -> tuple[str, ...]:
        """Names of the per-row columns (the dataclass fields that hold arrays)."""
        return tuple(f.name for f in dataclasses.fields(cls) if not f.name.endswith("_names"))

    # ------------------------------------------------------------------ basic queries
    def __len__(self) -> int:
        return len(self.satellite)

    @property
    def duration_s(self) -> FloatArray:
        """Window length in seconds, ``end_unix_s - start_unix_s``, shape ``(n,)``."""
        return self.end_unix_s - self.start_unix_s

    # ------------------------------------------------------------------ row selection
    def take(self: T, indices: ArrayLike) -> T:
        """The rows at ``indices`` (integer positions), in that order."""
        index = np.asarray(indices, dtype=np.int64)
        columns: dict[str, Any] = {name: getattr(self, name)[index] for name in self._row_fields()}
        return dataclasses.replace(self, **columns)

    def filter(self: T, mask: ArrayLike) -> T:
        """The rows where the boolean ``mask`` (shape ``(n,)``) is true."""
        keep = np.asarray(mask, dtype=bool)
        if keep.shape != (len(self),):
            raise InputError("mask", f"an array of shape {keep.shape}", f"shape ({len(self)},)")
        return self.take(np.flatnonzero(keep))

    def sorted(self: T, by: Sequence[str] = ("start_unix_s",)) -> T:
        """Rows ordered by the named columns (first name is the primary key; stable)."""
        unknown = [name for name in by if name not in self._row_fields()]
        if unknown:
            raise InputError("by", unknown[0], f"one of the columns {list(self._row_fields())}")
        keys = [getattr(self, name) for name in reversed(list(by))]
        return self.take(np.lexsort(keys) if keys else np.arange(len(self)))

    def for_satellites(self: T, satellites: Sequence[int | str] | int | str) -> T:
        """The rows of the given satellites (indices or names)."""
        wanted = [satellites] if isinstance(satellites, int | str) else list(satellites)
        indices = [self._satellite_index(item) for item in wanted]
        return self.filter(self._involves(np.asarray(indices, dtype=np.int64)))

    def _involves(self, indices: IntArray) -> BoolArray:
        return np.isin(self.satellite, indices)

    def _satellite_index(self, item: int | str) -> int:
        if isinstance(item, str):
            try:
                return self.satellite_names.index(item)
            except ValueError:
                raise InputError(
                    "satellite", item, "the name of a satellite in the table"
                ) from None
        if not 0 <= item < len(self.satellite_names):
            raise InputError("satellite", item, f"an index in [0, {len(self.satellite_names)})")
        return int(item)

    # ------------------------------------------------------------------ combination
    @classmethod
    def concat(cls: type[T], tables: Sequence[T]) -> T:
        """Rows of several tables of the same type and satellites, one after the other."""
        if not tables:
            raise InputError("tables", [], "at least one table")
        first = tables[0]
        for table in tables[1:]:
            if type(table) is not type(first):
                raise InputError(
                    "tables", type(table).__name__, f"tables of one type ({type(first).__name__})"
                )
            if table.satellite_names != first.satellite_names:
                raise InputError(
                    "tables", "tables over different satellites", "tables of one constellation"
                )
        columns: dict[str, Any] = {
            name: np.concatenate([getattr(t, name) for t in tables]) for name in first._row_fields()
        }
        return dataclasses.replace(first, **columns)

    # ------------------------------------------------------------------ output
    def _output_columns(self) -> dict[str, NDArray[Any]]:
        """Columns of records/CSV/Arrow, in order (subclasses extend)."""
        names = np.asarray(self.satellite_names, dtype=object)
        return {
            "kind": np.full(len(self), self.kind, dtype=object),
            "satellite": names[self.satellite] if len(self) else np.empty(0, dtype=object),
            "start": format_utc_iso_array(self.start_unix_s),
            "end": format_utc_iso_array(self.end_unix_s),
            "duration_s": np.round(self.duration_s, 3),
            "start_clipped": self.start_clipped,
            "end_clipped": self.end_clipped,
        }

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per row, JSON-ready: names, ISO 8601 UTC times, plain Python numbers.

        Keys whose value is missing for a row (e.g. ``station`` of an inter-satellite window)
        are left out of that row's dict.
        """
        columns = self._output_columns()
        names = list(columns)
        n = len(self)
        # Rows are grouped by which columns they lack, so that each group is built by zipping
        # plain lists (no per-value checks).
        code = np.zeros(n, dtype=np.int64)
        for bit, name in enumerate(names):
            column = columns[name]
            if column.dtype == object:
                missing = np.equal(column, np.array(None, dtype=object)).astype(np.int64)
                code |= missing << bit
        records: list[dict[str, Any]] = [{}] * n
        for pattern in np.unique(code).tolist():
            rows = np.flatnonzero(code == pattern)
            keys = [name for bit, name in enumerate(names) if not (pattern >> bit) & 1]
            lists = [columns[key][rows].tolist() for key in keys]
            for row, row_values in zip(rows.tolist(), zip(*lists, strict=True), strict=True):
                records[row] = dict(zip(keys, row_values, strict=True))
        return records

    def to_arrow(self) -> Any:
        """The table as a ``pyarrow.Table``: output columns plus the raw indices and times.

        ``start``/``end`` are UTC timestamps (microseconds); ``start_unix_s``/``end_unix_s`` and
        the integer index columns are kept so that a table read back loses nothing.
        """
        import pyarrow as pa

        arrays: dict[str, Any] = {}
        for name, values in self._output_columns().items():
            if name in ("start", "end"):
                seconds = getattr(self, f"{name}_unix_s")
                micros = np.round(seconds * 1e6).astype(np.int64)
                arrays[name] = pa.array(micros, type=pa.timestamp("us", tz="UTC"))
            else:
                arrays[name] = pa.array(values.tolist() if values.dtype == object else values)
        for name in self._row_fields():
            if name not in arrays:
                arrays[name] = pa.array(getattr(self, name))
        return pa.table(arrays, metadata={"orbitlearn.kind": self.kind})


@dataclass(frozen=True, eq=False)
class ContactTable(IntervalTable):
    """Communication windows: satellite to ground station, or satellite to satellite.

    Rows of both kinds may share one table. A ground row has ``station >= 0`` and ``peer == -1``;
    an inter-satellite row has ``peer >= 0`` (a satellite index, always greater than
    ``satellite``: each link appears once) and ``station == -1``.

    Attributes (beyond :class:`IntervalTable`'s):
        station: station index per row (``-1`` for inter-satellite rows), ``(n,)``.
        peer: peer satellite index per row (``-1`` for ground rows), ``(n,)``.
        max_elevation_deg: highest elevation of the satellite seen from the station during the
            window, degrees (NaN for inter-satellite rows), ``(n,)``.
        peak_unix_s: time of ``max_elevation_deg`` (ground) or of ``min_range_m`` (links), ``(n,)``.
        min_range_m: shortest distance between the two ends during the window, metres, ``(n,)``.
        station_names: the names of the stations that ``station`` refers to.

    >>> table = ContactTable.ground([0], [1], [0.0], [400.0], [45.0], [200.0], [800e3],
    ...                             ("sat-a",), ("Svalbard", "Troll"))
    >>> table.to_records()[0]["station"], table.to_records()[0]["min_range_km"]
    ('Troll', 800.0)
    """

    station: IntArray
    peer: IntArray
    max_elevation_deg: FloatArray
    peak_unix_s: FloatArray
    min_range_m: FloatArray
    station_names: tuple[str, ...] = ()

    kind: ClassVar[str] = "contact"

    @classmethod
    def empty(
        cls, satellite_names: Sequence[str], station_names: Sequence[str] = ()
    ) -> ContactTable:
        """A table with no rows."""
        return cls.ground([], [], [], [], [], [], [], satellite_names, station_names)

    @classmethod
    def ground(
        cls,
        satellite: ArrayLike,
        station: ArrayLike,
        start_unix_s: ArrayLike,
        end_unix_s: ArrayLike,
        max_elevation_deg: ArrayLike,
        peak_unix_s: ArrayLike,
        min_range_m: ArrayLike,
        satellite_names: Sequence[str],
        station_names: Sequence[str],
        *,
        start_clipped: ArrayLike | None = None,
        end_clipped: ArrayLike | None = None,
    ) -> ContactTable:
        """A table of ground-station windows."""
        sat = _as_array(satellite, np.int64)
        return cls(
            satellite=sat,
            start_unix_s=_as_array(start_unix_s, np.float64),
            end_unix_s=_as_array(end_unix_s, np.float64),
            start_clipped=_flags(start_clipped, len(sat)),
            end_clipped=_flags(end_clipped, len(sat)),
            satellite_names=tuple(satellite_names),
            station=_as_array(station, np.int64),
            peer=np.full(len(sat), -1, dtype=np.int64),
            max_elevation_deg=_as_array(max_elevation_deg, np.float64),
            peak_unix_s=_as_array(peak_unix_s, np.float64),
            min_range_m=_as_array(min_range_m, np.float64),
            station_names=tuple(station_names),
        )

    @classmethod
    def links(
        cls,
        satellite: ArrayLike,
        peer: ArrayLike,
        start_unix_s: ArrayLike,
        end_unix_s: ArrayLike,
        peak_unix_s: ArrayLike,
        min_range_m: ArrayLike,
        satellite_names: Sequence[str],
        *,
        start_clipped: ArrayLike | None = None,
        end_clipped: ArrayLike | None = None,
    ) -> ContactTable:
        """A table of inter-satellite windows (``satellite < peer`` in every row)."""
        sat = _as_array(satellite, np.int64)
        other = _as_array(peer, np.int64)
        if np.any(other <= sat):
            raise ValueError("Expected peer > satellite in every inter-satellite row")
        return cls(
            satellite=sat,
            start_unix_s=_as_array(start_unix_s, np.float64),
            end_unix_s=_as_array(end_unix_s, np.float64),
            start_clipped=_flags(start_clipped, len(sat)),
            end_clipped=_flags(end_clipped, len(sat)),
            satellite_names=tuple(satellite_names),
            station=np.full(len(sat), -1, dtype=np.int64),
            peer=other,
            max_elevation_deg=np.full(len(sat), np.nan),
            peak_unix_s=_as_array(peak_unix_s, np.float64),
            min_range_m=_as_array(min_range_m, np.float64),
            station_names=(),
        )

    @property
    def is_link(self) -> BoolArray:
        """``True`` for inter-satellite rows, ``(n,)``."""
        return self.peer >= 0

    def joined_at(self, boundaries_unix_s: ArrayLike) -> ContactTable:
        """Windows split at internal ``boundaries`` (a span searched in parts) joined again.

        A window that ends clipped exactly at a boundary and the window of the same satellite
        and station (or peer) that starts clipped at that instant are one window: their rows
        become one, with the higher peak elevation (and its time) for ground rows, the shorter
        range (and, for links, its time), and the outer clipped flags. Chains over several
        boundaries are joined too. Rows come back sorted by start.

        >>> split = ContactTable.ground([0, 0], [0, 0], [0.0, 50.0], [50.0, 80.0], [20.0, 30.0],
        ...     [40.0, 60.0], [9e5, 8e5], ("a",), ("S",), start_clipped=[False, True],
        ...     end_clipped=[True, False])
        >>> whole = split.joined_at([50.0])
        >>> len(whole), whole.end_unix_s.tolist(), whole.max_elevation_deg.tolist()
        (1, [80.0], [30.0])
        """
        boundaries = np.asarray(boundaries_unix_s, dtype=np.float64)
        if len(self) < 2 or boundaries.size == 0:
            return self.sorted()
        table = self.sorted(("satellite", "station", "peer", "start_unix_s"))
        same_item = (
            (table.satellite[1:] == table.satellite[:-1])
            & (table.station[1:] == table.station[:-1])
            & (table.peer[1:] == table.peer[:-1])
        )
        touching = (table.end_unix_s[:-1] == table.start_unix_s[1:]) & np.isin(
            table.end_unix_s[:-1], boundaries
        )
        joins = same_item & touching & table.end_clipped[:-1] & table.start_clipped[1:]
        if not joins.any():
            return table.sorted()
        first = np.flatnonzero(np.concatenate([[True], ~joins]))  # first row of each chain
        last = np.concatenate([first[1:] - 1, [len(table) - 1]])
        elevation = np.where(np.isnan(table.max_elevation_deg), -np.inf, table.max_elevation_deg)
        best_elevation = _argreduce(elevation, first, np.maximum)
        best_range = _argreduce(-table.min_range_m, first, np.maximum)
        peak_row = np.where(table.is_link[first], best_range, best_elevation)
        joined = dataclasses.replace(
            table.take(first),
            end_unix_s=table.end_unix_s[last],
            end_clipped=table.end_clipped[last],
            max_elevation_deg=table.max_elevation_deg[best_elevation],
            peak_unix_s=table.peak_unix_s[peak_row],
            min_range_m=table.min_range_m[best_range],
        )
        return joined.sorted()

    def for_stations(self, stations: Sequence[int | str] | int | str) -> ContactTable:
        """The ground rows of the given stations (indices or names)."""
        wanted = [stations] if isinstance(stations, int | str) else list(stations)
        indices = []
        for item in wanted:
            if isinstance(item, str):
                if item not in self.station_names:
                    raise InputError("station", item, f"one of {list(self.station_names)}")
                indices.append(self.station_names.index(item))
            else:
                indices.append(int(item))
        return self.filter(np.isin(self.station, indices) & (self.station >= 0))

    def _involves(self, indices: IntArray) -> BoolArray:
        # A link involves both of its satellites.
        return np.isin(self.satellite, indices) | (self.is_link & np.isin(self.peer, indices))

    @classmethod
    def concat(cls, tables: Sequence[ContactTable]) -> ContactTable:
        """Rows of several tables; station lists are merged (by name) and indices remapped."""
        if not tables:
            raise InputError("tables", [], "at least one table")
        names: list[str] = []
        remapped = []
        for table in tables:
            for name in table.station_names:
                if name not in names:
                    names.append(name)
            lookup = np.asarray(
                [names.index(name) for name in table.station_names] + [-1], dtype=np.int64
            )
            # index -1 picks the trailing -1 so that link rows keep station == -1
            remapped.append(
                dataclasses.replace(table, station=lookup[table.station], station_names=())
            )
        merged = super().concat(remapped)
        return dataclasses.replace(merged, station_names=tuple(names))

    def _output_columns(self) -> dict[str, NDArray[Any]]:
        base = super()._output_columns()
        n = len(self)
        link = self.is_link
        stations = np.asarray((*self.station_names, None), dtype=object)
        sat_names = np.asarray((*self.satellite_names, None), dtype=object)
        max_el = np.round(self.max_elevation_deg, 3).astype(object)
        max_el[link] = None
        columns = {
            "kind": np.where(link, "isl", "ground").astype(object),
            "satellite": base["satellite"],
            "station": stations[self.station] if n else np.empty(0, dtype=object),
            "peer": sat_names[self.peer] if n else np.empty(0, dtype=object),
            "start": base["start"],
            "end": base["end"],
            "duration_s": base["duration_s"],
            "max_elevation_deg": max_el,
            "min_range_km": np.round(self.min_range_m / 1e3, 3),
            "start_clipped": base["start_clipped"],
            "end_clipped": base["end_clipped"],
        }
        return columns


def _argreduce(values: FloatArray, starts: IntArray, reduce: np.ufunc) -> IntArray:
    """Row index of the reduced (e.g. largest) value in each run of rows from ``starts``."""
    best = reduce.reduceat(values, starts)
    group = np.repeat(np.arange(starts.size), np.diff(np.append(starts, values.size)))
    hit = np.flatnonzero(values == best[group])
    # The first hit of each group: hits are in row order, groups are contiguous.
    first_hit = np.unique(group[hit], return_index=True)[1]
    return hit[first_hit]


def _flags(values: ArrayLike | None, n: int) -> BoolArray:
    if values is None:
        return np.zeros(n, dtype=bool)
    return _as_array(values, bool)
