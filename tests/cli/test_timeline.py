"""``orbitlearn timeline``: table and JSON output, the Parquet file, the plot, and bad options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from orbitlearn.space.timeline import Timeline

WALKER = ("--walker", "4/2/1", "--altitude-km", "550", "--inclination-deg", "53")
SHORT = ("--start", "2026-03-01", "--duration-s", "21600", "--step-s", "30")
REQUIRED_KEYS = {
    "satellite",
    "eclipse_fraction",
    "saa_fraction",
    "upsets_per_bit_day",
    "upset_fraction_in_saa",
    "resets_per_day",
    "dose_rad_per_year",
}


def test_table(cli) -> None:
    code, out, err = cli("timeline", *WALKER, *SHORT, "--station", "Bremen=53.1,8.8")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == [
        "satellite",
        "eclipse_%",
        "saa_%",
        "upsets/bit/day",
        "in_saa_%",
        "resets/day",
        "dose_rad/yr",
        "contacts",
        "min_soc",
    ]
    assert [line.split()[0] for line in lines[1:5]] == [
        "walker-P1-S1",
        "walker-P1-S2",
        "walker-P2-S1",
        "walker-P2-S2",
    ]
    assert lines[5] == (
        "4 satellites, 721 grid times every 30 s over 0.25 days; memory sram, device zynq7000, "
        "power 3u"
    )


def test_json_per_satellite(cli) -> None:
    code, out, err = cli(
        "timeline", *WALKER, *SHORT, "--format", "json", "--memory", "dram", "--power", "6u"
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["memory"] == "dram" and document["power"] == "6u"
    assert len(document["satellites"]) == 4
    for row in document["satellites"]:
        assert set(row) >= REQUIRED_KEYS
        assert 0.0 <= row["eclipse_fraction"] <= 0.5
        assert 1e-12 < row["upsets_per_bit_day"] < 1e-8  # DRAM ~1e-9 /bit/day


def test_default_upsets_are_sram_and_acceleration_multiplies(cli) -> None:
    _, plain, _ = cli("timeline", *WALKER, *SHORT, "--format", "json")
    _, fast, _ = cli("timeline", *WALKER, *SHORT, "--format", "json", "--acceleration", "1000")
    slow_rows, fast_rows = json.loads(plain)["satellites"], json.loads(fast)["satellites"]
    assert 1e-8 < slow_rows[0]["upsets_per_bit_day"] < 1e-6  # SRAM ~1e-7 at 550 km
    for slow, quick in zip(slow_rows, fast_rows, strict=True):
        assert quick["upsets_per_bit_day"] == pytest.approx(
            1000 * slow["upsets_per_bit_day"], rel=1e-4
        )
        assert quick["dose_rad_per_year"] == slow["dose_rad_per_year"]


def test_output_and_plot(cli, tmp_path: Path) -> None:
    parquet, png = tmp_path / "timeline.parquet", tmp_path / "day.png"
    code, out, err = cli(
        "timeline",
        *WALKER,
        *SHORT,
        "--network",
        "polar",
        "--output",
        str(parquet),
        "--plot",
        str(png),
        "--plot-satellite",
        "walker-P2-S1",
        "--format",
        "json",
    )
    assert code == 0, err
    assert f"wrote timeline {parquet}" in err and f"wrote plot {png}" in err
    saved = Timeline.load(parquet)
    assert saved.n_sats == 4 and saved.n_times == 721
    rows = json.loads(out)["satellites"]
    assert [row["contacts"] for row in rows] == np.bincount(
        saved.contacts.satellite, minlength=4
    ).tolist()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.png", "timeline.parquet"]


def test_tle_constellation(cli, shared_data: Path) -> None:
    code, out, err = cli(
        "timeline",
        "--tle",
        str(shared_data / "tle" / "iridium-next.txt"),
        "--duration-s",
        "7200",
        "--step-s",
        "60",
        "--format",
        "json",
    )
    assert code == 0, err
    rows = json.loads(out)["satellites"]
    assert len(rows) == 80
    # Iridium at ~780 km, 86.4 deg: dose well above the 550 km figure.
    assert np.median([row["dose_rad_per_year"] for row in rows]) > 300.0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--format", "xml"), "Expected `--format` to be one of table, json, actual: 'xml'"),
        (
            ("--step-s", "0"),
            "Expected `--step-s` to be a number of seconds in [1, 600], actual: 0.0",
        ),
        (
            ("--memory", "flash"),
            "Expected `--memory` to be one of sram, dram, ecc_dram, ecc_sram, actual: 'flash'",
        ),
        (
            ("--device", "z80"),
            "Expected `--device` to be one of zynq7000, trillium_host, trillium_chip, none, actual: 'z80'",
        ),
        (("--power", "12u"), "Expected `--power` to be one of 3u, 6u, espa, actual: '12u'"),
        (("--acceleration", "-2"), "Expected `--acceleration` to be a number > 0, actual: -2.0"),
        (
            ("--spe", "stochastic"),
            "Expected `--seed` to be given with --spe stochastic, actual: not given",
        ),
        (
            ("--spe", "sometimes"),
            "Expected `--spe` to be one of history, stochastic, none, actual: 'sometimes'",
        ),
        (
            ("--min-elevation-deg", "95"),
            "Expected `--min-elevation-deg` to be a number of degrees in [0, 90], actual: 95.0",
        ),
        (
            ("--plot-satellite", "3"),
            "Expected `--plot-satellite` to be given only with --plot, actual: '3'",
        ),
        (
            ("--output", "t.csv"),
            "Expected `--output` to be a file name ending in .parquet, actual: 't.csv'",
        ),
        (
            ("--plot", "missing/day.png"),
            "Expected `--plot` to be a path in an existing directory, actual: 'missing/day.png'",
        ),
    ],
)
def test_bad_options(
    cli, extra: tuple[str, ...], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("timeline", *WALKER, *SHORT, *extra)
    assert code == 2
    assert err.strip() == f"orbitlearn: error: {message}"
    assert out == "" and "Traceback" not in err


def test_unknown_plot_satellite(cli, tmp_path: Path) -> None:
    code, _, err = cli(
        "timeline", *WALKER, *SHORT, "--plot", str(tmp_path / "d.png"), "--plot-satellite", "sat-9"
    )
    assert code == 2
    assert "Expected `--plot-satellite` to be the name of a satellite on the timeline" in err
    assert not (tmp_path / "d.png").exists()


def test_constellation_options_are_those_of_contacts(cli) -> None:
    code, _, err = cli("timeline", "--walker", "4/2/1", "--altitude-km", "550")
    assert code == 2
    assert "Expected `--inclination-deg` to be given with --walker" in err
