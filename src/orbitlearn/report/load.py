"""Read a run directory (``orbitlearn run --out DIR``) into typed, checked tables.

The files and their schemas are documented in :mod:`orbitlearn.mission.results`. This module
reads only the columns the report draws, checks that each is there with the expected kind of
values, and turns every problem into one :class:`~orbitlearn.errors.DataError` that names the
file (and the column or key) and says what was expected.

``summary.json`` and ``metrics.parquet`` are required. The other tables are optional: a run
directory without one still gets a report, with that section saying which file is absent. A file
that is present but unreadable is always an error.

Nothing here imports torch (or the mission engine).
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from orbitlearn.errors import DataError

__all__ = [
    "REQUIRED_SUMMARY_KEYS",
    "TABLE_COLUMNS",
    "RunData",
    "Table",
    "load_run",
    "read_summary",
    "read_table",
]

#: Keys the report needs in ``summary.json`` (the keys the mission issue promises).
REQUIRED_SUMMARY_KEYS = (
    "strategy",
    "satellites",
    "mission_days",
    "metric_name",
    "final_metric",
    "target_metric",
    "time_to_target_h",
    "energy_wh",
    "bytes_up",
    "bytes_down",
    "faults",
    "resets",
    "rejected_updates",
    "curve",
)
_FAULT_KEYS = ("injected", "detected", "corrected", "silent")

_CUMULATIVE = (
    "faults_injected",
    "faults_detected",
    "faults_corrected",
    "faults_silent",
    "resets",
    "bytes_up",
    "bytes_down",
    "bytes_isl",
    "updates_received",
    "updates_accepted",
    "rejected_updates",
)

#: Columns the report reads from each table, with their kind: ``f`` float (integers accepted),
#: ``i`` integer, ``s`` string, ``b`` boolean. Other columns are ignored.
TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "metrics": {
        "time_unix_s": "f",
        "mission_h": "f",
        "kind": "s",
        "version": "i",
        "metric": "f",
        "energy_wh": "f",
        "energy_training_wh": "f",
        "energy_radio_wh": "f",
        "battery_soc_mean": "f",
        "battery_soc_min": "f",
        **{name: "i" for name in _CUMULATIVE},
    },
    "satellites": {
        "satellite": "i",
        "name": "s",
        "plane": "i",
        "rounds": "i",
        "steps": "i",
        "lost_steps": "i",
        "resets": "i",
        "training_j": "f",
        "radio_j": "f",
        "faults_injected": "i",
        "faults_detected": "i",
        "faults_corrected": "i",
        "faults_silent": "i",
        "bytes_up": "i",
        "bytes_down": "i",
        "bytes_isl": "i",
        "updates_sent": "i",
        "min_soc": "f",
    },
    "activity": {
        "satellite": "i",
        "activity": "s",
        "start_unix_s": "f",
        "end_unix_s": "f",
    },
    "environment": {
        "satellite": "i",
        "kind": "s",
        "start_unix_s": "f",
        "end_unix_s": "f",
    },
    "battery": {"satellite": "i", "time_unix_s": "f", "soc": "f"},
    "faults": {"time_unix_s": "f", "satellite": "i", "kind": "s"},
    "updates": {"time_unix_s": "f", "satellite": "i", "bytes": "i", "accepted": "b"},
}
_KIND_NAMES = {"f": "numbers", "i": "integers", "s": "strings", "b": "booleans"}
_DTYPES: dict[str, Any] = {"f": np.float64, "i": np.int64, "s": object, "b": np.bool_}


@dataclass(frozen=True)
class Table:
    """One Parquet table of a run: named 1-D numpy columns of equal length.

    Float columns are ``float64``, integer columns ``int64``, booleans ``bool`` and strings
    ``object`` arrays of ``str``.

    >>> t = Table("demo", {"x": np.array([1.0, 2.0])})
    >>> len(t), t["x"].sum()
    (2, np.float64(3.0))
    """

    name: str
    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return 0 if not self.columns else len(next(iter(self.columns.values())))

    def __getitem__(self, column: str) -> np.ndarray:
        return self.columns[column]

    def __contains__(self, column: object) -> bool:
        return column in self.columns

    def where(self, keep: np.ndarray) -> Table:
        """The rows where the boolean mask ``keep`` is true."""
        return Table(self.name, {k: v[keep] for k, v in self.columns.items()})


@dataclass(frozen=True)
class RunData:
    """Everything the report shows, read from one run directory.

    Attributes:
        run_dir: the directory.
        summary: ``summary.json``.
        metrics: ``metrics.parquet`` (rows sorted by time).
        satellites, activity, environment, battery, faults, updates: the other tables, or
            ``None`` where the file is absent (see :attr:`missing`).
        config_toml: ``config.toml`` text (``""`` when absent); config: it parsed (``{}``
            when absent).
        run_info: ``run.json`` (``{}`` when absent).
        missing: names of optional files that were absent.
    """

    run_dir: Path
    summary: dict[str, Any]
    metrics: Table
    satellites: Table | None = None
    activity: Table | None = None
    environment: Table | None = None
    battery: Table | None = None
    faults: Table | None = None
    updates: Table | None = None
    config_toml: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    run_info: dict[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    @property
    def start_unix_s(self) -> float:
        """The mission start (POSIX seconds), from the first metrics row."""
        if len(self.metrics) == 0:
            return 0.0
        return float(self.metrics["time_unix_s"][0] - 3600.0 * self.metrics["mission_h"][0])

    @property
    def duration_h(self) -> float:
        """The mission length in hours (``mission_days``; at least the last metrics row)."""
        days = self.summary.get("mission_days")
        span = 24.0 * float(days) if isinstance(days, int | float) and _is_number(days) else 0.0
        if len(self.metrics):
            span = max(span, float(np.nanmax(self.metrics["mission_h"])))
        return span if span > 0.0 else 1.0


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _missing(path: Path) -> DataError:
    return DataError(
        f"{path} is missing; a run directory written by `orbitlearn run --out DIR` has it "
        "(see orbitlearn.mission.results for the files of a run)"
    )


def read_summary(path: Path) -> dict[str, Any]:
    """Read and check ``summary.json``.

    Raises:
        DataError: the file is missing, is not JSON, is not an object, or lacks a key of
            :data:`REQUIRED_SUMMARY_KEYS` (or a count in ``faults``).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _missing(path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} cannot be read: {exc}") from None
    try:
        summary = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}); expected the summary "
            "object that `orbitlearn run` writes"
        ) from None
    if not isinstance(summary, dict):
        raise DataError(f"{path}: expected a JSON object, actual: {type(summary).__name__}")
    absent = [key for key in REQUIRED_SUMMARY_KEYS if key not in summary]
    if absent:
        raise DataError(
            f"{path}: missing key(s) {', '.join(repr(k) for k in absent)}; expected at least "
            f"{', '.join(REQUIRED_SUMMARY_KEYS)}"
        )
    faults = summary["faults"]
    if not isinstance(faults, dict) or any(key not in faults for key in _FAULT_KEYS):
        raise DataError(
            f"{path}: expected `faults` to be an object with {', '.join(_FAULT_KEYS)}, "
            f"actual: {faults!r}"
        )
    curve = summary["curve"]
    if not isinstance(curve, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(_is_number(v) for v in p) for p in curve
    ):
        raise DataError(f"{path}: expected `curve` to be a list of [mission_h, metric] pairs")
    return summary


def read_table(path: Path, columns: dict[str, str]) -> Table:
    """Read the ``columns`` (name -> kind, see :data:`TABLE_COLUMNS`) of one Parquet file.

    Raises:
        DataError: the file is missing or not readable Parquet, a column is absent, holds the
            wrong kind of values, or has missing values where a number or label is needed.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        raise _missing(path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path} is not a readable Parquet file: {exc}") from None
    present = set(table.column_names)
    absent = [name for name in columns if name not in present]
    if absent:
        raise DataError(
            f"{path}: missing column(s) {', '.join(absent)}; the report needs "
            f"{', '.join(columns)} (schema in orbitlearn.mission.results)"
        )
    out: dict[str, np.ndarray] = {}
    rows = table.num_rows
    for name, kind in columns.items():
        column = table.column(name)
        out[name] = _convert(path, name, kind, column, rows)
    return Table(path.stem, out)


def _convert(path: Path, name: str, kind: str, column: Any, rows: int) -> np.ndarray:
    import pyarrow as pa

    kind_type = column.type
    if pa.types.is_null(kind_type):  # an empty table has untyped columns
        if rows == 0 or kind == "f":
            return np.full(rows, np.nan if kind == "f" else 0, dtype=_DTYPES[kind])
        ok = False
    elif kind == "f":
        ok = pa.types.is_floating(kind_type) or pa.types.is_integer(kind_type)
    elif kind == "i":
        ok = pa.types.is_integer(kind_type)
    elif kind == "s":
        ok = pa.types.is_string(kind_type) or pa.types.is_large_string(kind_type)
    else:
        ok = pa.types.is_boolean(kind_type)
    if not ok:
        raise DataError(
            f"{path}: expected column `{name}` to hold {_KIND_NAMES[kind]}, "
            f"actual type: {kind_type}"
        )
    if kind != "f" and column.null_count:
        raise DataError(
            f"{path}: column `{name}` has {column.null_count} missing value(s); expected "
            f"{_KIND_NAMES[kind]} in every row"
        )
    values = column.to_numpy()
    return np.asarray(values, dtype=_DTYPES[kind])


def _optional_table(run_dir: Path, name: str) -> Table | None:
    path = run_dir / f"{name}.parquet"
    if not path.exists():
        return None
    return read_table(path, TABLE_COLUMNS[name])


def load_run(run_dir: str | Path) -> RunData:
    """Read a run directory.

    Args:
        run_dir: the directory ``orbitlearn run --out`` wrote.

    Returns:
        the checked :class:`RunData` (metrics sorted by time).

    Raises:
        DataError: the directory is absent, ``summary.json`` or ``metrics.parquet`` is missing,
            or any file present is unreadable or lacks what the report needs (the message names
            the file).
    """
    root = Path(run_dir)
    if not root.is_dir():
        raise DataError(
            f"{root} is not a directory; expected a run directory written by "
            "`orbitlearn run --out DIR`"
        )
    summary = read_summary(root / "summary.json")
    metrics = read_table(root / "metrics.parquet", TABLE_COLUMNS["metrics"])
    order = np.argsort(metrics["time_unix_s"], kind="stable")
    metrics = Table(metrics.name, {k: v[order] for k, v in metrics.columns.items()})
    tables = {name: _optional_table(root, name) for name in TABLE_COLUMNS if name != "metrics"}
    missing = [f"{name}.parquet" for name, table in tables.items() if table is None]

    config_toml = ""
    config: dict[str, Any] = {}
    config_path = root / "config.toml"
    if config_path.is_file():
        try:
            config_toml = config_path.read_text(encoding="utf-8")
            config = tomllib.loads(config_toml)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise DataError(f"{config_path} is not a readable TOML file: {exc}") from None
    else:
        missing.append("config.toml")

    run_info: dict[str, Any] = {}
    info_path = root / "run.json"
    if info_path.is_file():
        try:
            loaded = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{info_path} is not a readable JSON file: {exc}") from None
        run_info = loaded if isinstance(loaded, dict) else {}

    return RunData(
        run_dir=root,
        summary=summary,
        metrics=metrics,
        config_toml=config_toml,
        config=config,
        run_info=run_info,
        missing=tuple(missing),
        satellites=tables["satellites"],
        activity=tables["activity"],
        environment=tables["environment"],
        battery=tables["battery"],
        faults=tables["faults"],
        updates=tables["updates"],
    )
