"""Reading a run directory: typed tables, and one clear DataError per bad file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orbitlearn.errors import DataError
from orbitlearn.report import load_run, write_report


def test_load_run_reads_typed_tables(run_dir: Path):
    run = load_run(run_dir)
    assert run.summary["name"] == "report-test"
    assert run.metrics["metric"].dtype == np.float64
    assert run.metrics["bytes_up"].dtype == np.int64
    assert np.all(np.diff(run.metrics["time_unix_s"]) >= 0.0)
    assert run.battery is not None and run.battery["soc"].dtype == np.float64
    assert run.updates is not None and run.updates["accepted"].dtype == np.bool_
    assert run.faults is not None and list(run.faults["kind"]).count("reset") == 1
    assert run.start_unix_s == 1_767_225_600.0
    assert run.duration_h == pytest.approx(4.0)
    assert run.config["satellite"]["min_soc_to_train"] == 0.5
    assert run.missing == ()


def test_missing_metrics_names_the_file(run_dir: Path):
    (run_dir / "metrics.parquet").unlink()
    with pytest.raises(DataError) as caught:
        write_report(run_dir)
    message = str(caught.value)
    assert message.startswith(f"{run_dir / 'metrics.parquet'} is missing;")
    assert "orbitlearn run --out DIR" in message
    assert not (run_dir / "report.html").exists()


def test_corrupt_metrics_names_the_file(run_dir: Path):
    (run_dir / "metrics.parquet").write_bytes(b"PAR1 this is not parquet at all")
    with pytest.raises(DataError, match=r"metrics\.parquet is not a readable Parquet file"):
        write_report(run_dir)
    assert not (run_dir / "report.html").exists()
    assert [p.name for p in run_dir.iterdir() if p.name.startswith(".")] == []


def test_metrics_without_a_needed_column(run_dir: Path):
    table = pq.read_table(run_dir / "metrics.parquet").drop_columns(["metric"])
    pq.write_table(table, run_dir / "metrics.parquet")
    with pytest.raises(DataError) as caught:
        load_run(run_dir)
    assert str(caught.value).startswith(
        f"{run_dir / 'metrics.parquet'}: missing column(s) metric; the report needs time_unix_s,"
    )


def test_metrics_column_of_the_wrong_kind(run_dir: Path):
    table = pq.read_table(run_dir / "metrics.parquet")
    index = table.column_names.index("bytes_up")
    table = table.set_column(index, "bytes_up", pa.array(["x"] * table.num_rows))
    pq.write_table(table, run_dir / "metrics.parquet")
    with pytest.raises(
        DataError, match=r"expected column `bytes_up` to hold integers, actual type: string"
    ):
        load_run(run_dir)


def test_summary_that_is_not_json(run_dir: Path):
    (run_dir / "summary.json").write_text('{"strategy": "fedbuff",\n  oops}')
    with pytest.raises(DataError, match=r"summary.json, line 2: not valid JSON"):
        load_run(run_dir)


def test_summary_without_required_keys(run_dir: Path):
    summary = json.loads((run_dir / "summary.json").read_text())
    del summary["final_metric"], summary["curve"]
    (run_dir / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(DataError, match=r"summary.json: missing key\(s\) 'final_metric', 'curve'"):
        load_run(run_dir)


def test_not_a_directory(tmp_path: Path):
    with pytest.raises(DataError, match="is not a directory; expected a run directory"):
        load_run(tmp_path / "absent")


def test_empty_untyped_tables_are_accepted(run_dir: Path):
    # the engine writes an empty faults table whose string columns have the null type
    empty = pa.table(
        {
            "time_unix_s": pa.array([], pa.float64()),
            "satellite": pa.array([], pa.int32()),
            "kind": pa.array([], pa.null()),
        }
    )
    pq.write_table(empty, run_dir / "faults.parquet")
    run = load_run(run_dir)
    assert run.faults is not None and len(run.faults) == 0
