"""report.html: sections, headline numbers, embedded figures, nothing external, escaping."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from orbitlearn.errors import DataError
from orbitlearn.report import write_report
from orbitlearn.report.html import SECTION_TITLES, write_atomically

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def page(shared_run: Path) -> str:
    written = write_report(shared_run)
    assert written == shared_run / "report.html"
    return written.read_text(encoding="utf-8")


def _images(page: str) -> list[bytes]:
    return [
        base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    ]


def test_report_has_every_section_in_order(page: str):
    positions = [page.index(f">{title}</h2>") for title in SECTION_TITLES]
    assert positions == sorted(positions)
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>orbitlearn report: report-test</title>" in page


def test_report_shows_the_mission_and_headline_numbers(page: str):
    header = page[page.index("<header>") : page.index("</header>")]
    for text in (
        "Mission report: report-test",
        "strategy fedbuff",
        "3 satellites",
        "2 ground stations",
        "0.1667 days from 2026-01-01T00:00:00Z",
        "seed 7",
        "workload synthetic",
        "metric accuracy",
    ):
        assert text in header, text
    for text in (
        "0.8123 / target 0.8",  # final vs target
        "initial 0.2, best 0.8234",
        "2.50 h",  # time to target
        "1.75 Wh",
        "training 1.5 Wh, radio 0.25 Wh",
        "123 kB / 654 kB / 4.1 kB",
        "up 123,456 B, down 654,321 B",
        "7 / 5",  # faults injected / detected
        "corrected 4, silent &lt;= 2, false alarms 0",
        "steps lost to resets 3",
        "bad signature: 1",  # rejected updates by reason
        "600 steps",
        "0.610",  # battery minimum
    ):
        assert text in page, text


def test_report_embeds_five_png_figures(page: str):
    images = _images(page)
    assert len(images) == 5
    assert all(image.startswith(PNG_MAGIC) and len(image) > 5_000 for image in images)


def test_report_references_nothing_external(page: str):
    assert "http://" not in page and "https://" not in page
    for attribute in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page):
        assert attribute.startswith(("data:", "#")), attribute
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "url(" not in page and "@import" not in page


def test_report_lists_each_satellite_and_the_configuration(page: str):
    table = page[page.index('id="satellites"') : page.index('id="configuration"')]
    assert table.count("<tr>") == 1 + 3  # header + one row per satellite
    assert '<td class="l">sat-1</td>' in table
    assert "<td>0.610</td>" in table  # min SoC of sat-1
    config = page[page.index('id="configuration"') :]
    assert "<details><summary>Resolved configuration" in config
    assert "min_soc_to_train = 0.5" in config


def test_text_from_the_run_is_escaped(make_run: Callable[..., Path]):
    evil = '<script>alert("x")</script> & <img src=http://evil.example/x.png>'
    page = write_report(make_run(name=evil)).read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "<img src=http" not in page
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=http://evil"
    assert page.count(escaped) == 2  # title and header
    assert "name = &quot;&lt;script&gt;alert(\\&quot;x\\&quot;)" in page  # configuration
    for attribute in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', page):
        assert attribute.startswith("data:"), attribute
    assert "a note with &lt;b&gt;markup&lt;/b&gt;" in page  # notes too


def test_missing_optional_tables_are_named_and_their_sections_say_so(run_dir: Path):
    for name in ("battery", "activity", "environment"):
        (run_dir / f"{name}.parquet").unlink()
    page = write_report(run_dir).read_text(encoding="utf-8")
    assert "activity.parquet, environment.parquet, battery.parquet" in page
    assert "No environment.parquet or activity.parquet in the run directory." in page
    assert len(_images(page)) == 4  # battery falls back to the metrics snapshots


def test_output_elsewhere_and_same_input_same_page(shared_run: Path, page: str, tmp_path: Path):
    elsewhere = write_report(shared_run, output=tmp_path / "a.html")
    assert elsewhere == tmp_path / "a.html"
    assert elsewhere.read_text(encoding="utf-8") == page  # figures are drawn reproducibly


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    target = tmp_path / "report.html"
    target.write_text("old report")

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("orbitlearn.report.html.os.replace", fail)
    with pytest.raises(DataError, match=r"cannot write .*report.html: disk full"):
        write_atomically(target, "<html>new</html>")
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_importing_the_report_does_not_import_torch():
    code = (
        "import sys, orbitlearn.report, orbitlearn.report.html, orbitlearn.cli.report; "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"


@pytest.mark.slow
def test_report_of_a_real_engine_run(engine_run: Path):
    # orbitlearn run writes the report itself (runner.write_report_if_available)
    page = (engine_run / "report.html").read_text(encoding="utf-8")
    summary = json.loads((engine_run / "summary.json").read_text())
    assert "Mission report: report-tiny" in page
    assert all(f">{title}</h2>" in page for title in SECTION_TITLES)
    assert len(_images(page)) == 5
    table = page[page.index('id="satellites"') : page.index('id="configuration"')]
    assert table.count("<tr>") == 1 + 4  # header + 4 satellites
    assert f"{summary['faults']['injected']:,} / {summary['faults']['detected']:,}" in page
    assert "http://" not in page and "https://" not in page
