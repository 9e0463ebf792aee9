"""TLE reading: real files load; every kind of damage gets a message naming line, value, rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sgp4.api import Satrec

from orbitlearn.errors import ElementSetError
from orbitlearn.space.timescale import parse_utc_iso
from orbitlearn.space.tle import load_tle, parse_tle_text, tle_checksum

# ISS element set from Vallado et al. 2006 / CelesTrak's TLE format page.
L1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
L2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
TITLE = "ISS (ZARYA)"

# Satellite counts of ../shared/data/tle (SOURCES.md).
REAL_COUNTS = {
    "starlink.txt": 6909,
    "oneweb.txt": 651,
    "iridium-next.txt": 80,
    "iridium.txt": 30,
    "planet_2023-04.txt": 188,
}


def with_checksum(line: str) -> str:
    """``line`` (69 characters) with its checksum digit recomputed."""
    return line[:68] + str(tle_checksum(line))


def put(line: str, first_col: int, text: str) -> str:
    """``line`` with ``text`` written from 1-based column ``first_col``, checksum recomputed."""
    start = first_col - 1
    return with_checksum(line[:start] + text + line[start + len(text) :])


def lines(*parts: str) -> str:
    return "\n".join(parts) + "\n"


# --- real data -------------------------------------------------------------------------------


@pytest.mark.parametrize(("file_name", "count"), sorted(REAL_COUNTS.items()))
def test_real_files_load_with_published_counts(shared_data, file_name, count):
    sats = load_tle(shared_data / "tle" / file_name)
    assert len(sats) == count
    assert len(set(sats.names)) == count  # names unique
    assert sats.source.endswith(file_name)
    assert np.all(np.isfinite(sats.epochs_unix_s))


def test_real_epochs_are_where_sources_md_says(shared_data):
    starlink = load_tle(shared_data / "tle" / "starlink.txt")
    planet = load_tle(shared_data / "tle" / "planet_2023-04.txt")
    jan_2025 = parse_utc_iso("2025-01-01"), parse_utc_iso("2025-02-01")
    apr_2023 = parse_utc_iso("2023-04-01"), parse_utc_iso("2023-05-01")
    assert jan_2025[0] <= starlink.epochs_unix_s.min() <= starlink.epochs_unix_s.max() < jan_2025[1]
    assert apr_2023[0] <= planet.epochs_unix_s.min() <= planet.epochs_unix_s.max() < apr_2023[1]


def test_real_file_matches_sgp4_reading_the_same_lines(shared_data):
    path = shared_data / "tle" / "iridium.txt"
    sats = load_tle(path)
    text = path.read_text().splitlines()
    names = [text[i].strip() for i in range(0, len(text), 3)]
    direct = [Satrec.twoline2rv(text[i + 1], text[i + 2]) for i in range(0, len(text), 3)]
    assert list(sats.names) == names
    minutes = np.linspace(0.0, 1440.0, 7)
    for ours, theirs in zip(sats.satrecs, direct, strict=True):
        jd = np.full(minutes.shape, theirs.jdsatepoch)
        fr = theirs.jdsatepochF + minutes / 1440.0
        np.testing.assert_array_equal(ours.sgp4_array(jd, fr)[1], theirs.sgp4_array(jd, fr)[1])


def test_vallado_verification_set():
    """sgp4's own verification TLEs (Vallado et al. 2006): all read, except the three that were
    hand-edited to trigger sgp4 errors and so carry stale checksums."""
    from importlib.resources import files

    text = files("sgp4").joinpath("SGP4-VER.TLE").read_text()
    data = [line[:69] for line in text.splitlines() if line[:2] in ("1 ", "2 ")]
    failed = {}
    for line1, line2 in zip(data[::2], data[1::2], strict=True):
        try:
            sats = parse_tle_text(f"{line1}\n{line2}\n")
        except ElementSetError as err:
            failed[line1[2:7]] = err.problem
            continue
        ours, theirs = sats.satrecs[0], Satrec.twoline2rv(line1, line2)
        assert (ours.satnum, ours.no_kozai, ours.ecco) == (
            theirs.satnum,
            theirs.no_kozai,
            theirs.ecco,
        )
    assert len(data) // 2 - len(failed) == 30
    assert failed == {
        "33333": "checksum digit is 4, expected 2 (sum of digits mod 10, '-' counts 1)",
        "33334": "checksum digit is 9, expected 6 (sum of digits mod 10, '-' counts 1)",
        "33335": "checksum digit is 0, expected 3 (sum of digits mod 10, '-' counts 1)",
    }


# --- accepted layouts ------------------------------------------------------------------------


def test_three_line_set():
    sats = parse_tle_text(lines(TITLE, L1, L2))
    assert sats.names == ("ISS (ZARYA)",)
    assert sats.catalog_numbers == ("25544",)
    assert sats.satrecs[0].inclo == pytest.approx(np.radians(51.6416))


def test_two_line_set_is_named_after_its_catalog_number():
    assert parse_tle_text(lines(L1, L2)).names == ("sat-25544",)


def test_celestrak_3le_title_prefix_is_dropped():
    assert parse_tle_text(lines("0 ISS (ZARYA)", L1, L2)).names == ("ISS (ZARYA)",)


def test_mixed_titles_blank_lines_and_crlf():
    other1 = put(put(L1, 3, "00005"), 10, "58002B  ")
    other2 = put(L2, 3, "00005")
    text = "\r\n".join(["", TITLE, L1, L2, "", other1, other2, "   ", ""])
    sats = parse_tle_text(text)
    assert sats.names == ("ISS (ZARYA)", "sat-00005")
    assert sats.catalog_numbers == ("25544", "00005")


def test_alpha5_catalog_numbers():
    sats = parse_tle_text(lines("NEW OBJECT", put(L1, 3, "A0001"), put(L2, 3, "A0001")))
    assert sats.catalog_numbers == ("A0001",)
    assert sats.satrecs[0].satnum == 100001


def test_duplicates_are_kept_with_unique_names():
    second1, second2 = put(L1, 3, "25545"), put(L2, 3, "25545")
    text = lines(TITLE, L1, L2, TITLE, second1, second2, TITLE, L1, L2)
    sats = parse_tle_text(text)
    assert len(sats) == 3
    assert sats.names == ("ISS (ZARYA) [25544] #1", "ISS (ZARYA) [25545]", "ISS (ZARYA) [25544] #2")


def test_trailing_spaces_after_column_69_are_ignored():
    assert len(parse_tle_text(lines(TITLE, L1 + "   ", L2 + "\t"))) == 1


# --- damaged input: (text, line number, problem, line shown) ---------------------------------

BAD_TEXT = [
    pytest.param(
        lines(TITLE, L1[:68] + "8", L2),
        2,
        "checksum digit is 8, expected 7 (sum of digits mod 10, '-' counts 1)",
        L1[:68] + "8",
        id="bad-checksum-line1",
    ),
    pytest.param(
        lines(TITLE, L1, L2[:68] + "0"),
        3,
        "checksum digit is 0, expected 7 (sum of digits mod 10, '-' counts 1)",
        L2[:68] + "0",
        id="bad-checksum-line2",
    ),
    pytest.param(
        lines(TITLE, L1, L2[:50]),
        3,
        "line 2 has 50 characters, expected 69 (the line is truncated)",
        L2[:50],
        id="truncated-line2",
    ),
    pytest.param(
        lines(L1[:40], L2),
        1,
        "line 1 has 40 characters, expected 69 (the line is truncated)",
        L1[:40],
        id="truncated-line1",
    ),
    pytest.param(
        lines(TITLE, L1 + "0"),
        2,
        "line 1 has 70 characters, expected 69",
        L1 + "0",
        id="too-long",
    ),
    pytest.param(
        lines(TITLE, L2, L1),
        2,
        "expected line 1 (starting '1 ') but found line 2",
        L2,
        id="swapped-lines",
    ),
    pytest.param(
        lines(L2, L1),
        1,
        "expected line 1 (starting '1 ') but found line 2",
        L2,
        id="swapped-lines-no-title",
    ),
    pytest.param(
        lines(TITLE, L1, L1),
        3,
        "expected line 2 (starting '2 ') after line 1 on line 2, but found another line 1",
        L1,
        id="line1-twice",
    ),
    pytest.param(
        lines(TITLE, L1, "ISS DEB", L2),
        3,
        "expected line 2 (starting '2 ') after line 1 on line 2, but found 'ISS DEB'",
        "ISS DEB",
        id="title-between-lines",
    ),
    pytest.param(
        lines(TITLE, "ISS (NAUKA)", L1, L2),
        2,
        "expected line 1 (starting '1 ') after the title on line 1, but found 'ISS (NAUKA)'",
        "ISS (NAUKA)",
        id="two-titles",
    ),
    pytest.param(
        lines(TITLE, L1, put(L2, 3, "25545")),
        3,
        "catalog number 25545 on line 2 differs from 25544 on line 1",
        put(L2, 3, "25545"),
        id="catalog-mismatch",
    ),
    pytest.param(
        lines(TITLE, L1, put(L2, 9, " ab.cdef")),
        3,
        "inclination (columns 9-16) is 'ab.cdef', expected a number of degrees such as 51.6416",
        put(L2, 9, " ab.cdef"),
        id="non-numeric-inclination",
    ),
    pytest.param(
        lines(TITLE, L1, put(L2, 53, "15.7212539x")),
        3,
        "mean motion (columns 53-63) is '15.7212539x', expected revolutions per day such as "
        "15.72125391",
        put(L2, 53, "15.7212539x"),
        id="non-numeric-mean-motion",
    ),
    pytest.param(
        lines(TITLE, L1, put(L2, 27, "000670O")),
        3,
        "eccentricity (columns 27-33) is '000670O', expected 7 digits with an implied leading "
        "decimal point such as 0006703",
        put(L2, 27, "000670O"),
        id="non-numeric-eccentricity",
    ),
    pytest.param(
        lines(TITLE, put(L1, 54, "-1160X-4"), L2),
        2,
        "BSTAR drag term (columns 54-61) is '-1160X-4', expected a number in TLE exponent form "
        "such as -11606-4",
        put(L1, 54, "-1160X-4"),
        id="non-numeric-bstar",
    ),
    pytest.param(
        lines(TITLE, put(L1, 21, "264.5178252x"), L2),
        2,
        "epoch day of year (columns 21-32) is '264.5178252x', expected a day of year such as "
        "264.51782528",
        put(L1, 21, "264.5178252x"),
        id="non-numeric-epoch",
    ),
    pytest.param(
        lines(TITLE, put(L1, 3, "2554!"), L2),
        2,
        "catalog number (columns 3-7) is '2554!', expected 5 digits or an Alpha-5 number such as "
        "A0001",
        put(L1, 3, "2554!"),
        id="non-numeric-catalog",
    ),
    pytest.param(
        lines(TITLE, L1, put(L2, 9, "190.0000")),
        3,
        "inclination (columns 9-16) is 190.0000, expected degrees in [0, 180]",
        put(L2, 9, "190.0000"),
        id="inclination-out-of-range",
    ),
    pytest.param(
        lines(TITLE, L1, put(L2, 53, " 0.00000000")),
        3,
        "mean motion (columns 53-63) is 0.00000000, expected revolutions per day > 0",
        put(L2, 53, " 0.00000000"),
        id="mean-motion-zero",
    ),
    pytest.param(
        lines(TITLE, put(L1, 21, "000.51782528"), L2),
        2,
        "epoch day of year (columns 21-32) is 000.51782528, expected a day of year in [1, 367)",
        put(L1, 21, "000.51782528"),
        id="epoch-day-zero",
    ),
    pytest.param(
        lines(TITLE, L1, put(L2, 17, "x")),
        3,
        "column 17 is 'x', expected a space (TLE fields sit in fixed columns)",
        put(L2, 17, "x"),
        id="separator",
    ),
    pytest.param(
        lines(TITLE, L1, L2[:20] + "é" + L2[21:]),
        3,
        "column 21 holds 'é', expected ASCII text",
        L2[:20] + "é" + L2[21:],
        id="non-ascii",
    ),
    pytest.param(
        lines(TITLE, " " + L1[:68], L2),
        2,
        "line 1 starts in column 2, expected column 1 (TLE fields sit in fixed columns)",
        " " + L1[:68],
        id="indented",
    ),
    pytest.param(
        lines(TITLE, L1),
        2,
        "line 1 is the last line of the file; expected line 2 (starting '2 ') after it",
        L1,
        id="lone-line1-at-end",
    ),
    pytest.param(
        lines(TITLE, L1, L2, "EXTRA"),
        4,
        "the title 'EXTRA' is the last line of the file; expected line 1 and line 2 after it",
        None,
        id="lone-title-at-end",
    ),
    pytest.param(
        lines(TITLE, L1, put(L2, 53, "99.99999999")),
        3,
        "sgp4 rejects this element set (error 6: mrt is less than 1.0 which indicates the "
        "satellite has decayed)",
        put(L2, 53, "99.99999999"),
        id="sgp4-decayed",
    ),
]


@pytest.mark.parametrize(("text", "line_number", "problem", "shown"), BAD_TEXT)
def test_damaged_text_names_line_value_and_rule(text, line_number, problem, shown):
    with pytest.raises(ElementSetError) as caught:
        parse_tle_text(text, source="sats.tle")
    err = caught.value
    assert (err.path, err.line_number, err.problem, err.line) == (
        "sats.tle",
        line_number,
        problem,
        shown,
    )


def test_message_format_shows_file_line_and_the_line_itself():
    with pytest.raises(ElementSetError) as caught:
        parse_tle_text(lines(TITLE, L1, put(L2, 3, "25545")), source="iss.tle")
    assert str(caught.value) == (
        "iss.tle, line 3: catalog number 25545 on line 2 differs from 25544 on line 1\n"
        f"    {put(L2, 3, '25545')}"
    )


@pytest.mark.parametrize(
    "text",
    [
        '[{"OBJECT_NAME": "ISS (ZARYA)", "NORAD_CAT_ID": 25544}]',
        "OBJECT_NAME,OBJECT_ID,EPOCH,MEAN_MOTION,NORAD_CAT_ID\nISS,1998-067A,2008-09-20,15.7,25544\n",
    ],
    ids=["json", "csv"],
)
def test_omm_given_as_tle_points_to_omm(text):
    with pytest.raises(ElementSetError) as caught:
        parse_tle_text(text, source="sats.txt")
    assert str(caught.value) == (
        "sats.txt: looks like OMM (JSON or CSV), not TLE; read it as an OMM file (--omm)"
    )


def test_long_junk_lines_are_shortened_in_messages():
    with pytest.raises(ElementSetError) as caught:
        parse_tle_text("x" * 500 + "\n" + "y" * 500)
    assert caught.value.problem == (
        f"expected line 1 (starting '1 ') after the title on line 1, but found '{'y' * 77}...'"
    )
    assert caught.value.line == "y" * 117 + "..."


@pytest.mark.parametrize("text", ["", "\n\n", "   \r\n\t\n"])
def test_empty_text(text):
    with pytest.raises(ElementSetError) as caught:
        parse_tle_text(text, source="empty.tle")
    assert str(caught.value) == (
        "empty.tle: is empty; expected TLE element sets (an optional title line, then line 1 "
        "and line 2)"
    )


# --- files -----------------------------------------------------------------------------------


def test_load_tle_file(tmp_path):
    path = tmp_path / "iss.tle"
    path.write_text(lines(TITLE, L1, L2))
    sats = load_tle(path)
    assert sats.names == ("ISS (ZARYA)",)
    assert sats.source == str(path)


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.tle"
    path.write_bytes(b"\xef\xbb\xbf" + lines(TITLE, L1, L2).encode())
    assert load_tle(path).names == ("ISS (ZARYA)",)


@pytest.mark.parametrize(
    ("content", "line_number", "problem"),
    [
        (
            b"",
            None,
            "is empty; expected TLE element sets (an optional title line, then line 1 and line 2)",
        ),
        (
            b"ISS\n\x00\x01\x02",
            2,
            "is a binary file (NUL byte at offset 4); expected a TLE text file",
        ),
        (
            b"ISS\n\xff\xfe" + L1.encode(),
            2,
            "byte 0xff at offset 4 is not UTF-8 text; expected a TLE text file",
        ),
    ],
    ids=["empty", "binary", "not-utf8"],
)
def test_bad_files(tmp_path, content, line_number, problem):
    path = tmp_path / "bad.tle"
    path.write_bytes(content)
    with pytest.raises(ElementSetError) as caught:
        load_tle(path)
    assert (caught.value.path, caught.value.line_number, caught.value.problem) == (
        str(path),
        line_number,
        problem,
    )


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ElementSetError) as caught:
        load_tle(tmp_path / "nope.tle")
    assert str(caught.value) == f"{tmp_path / 'nope.tle'}: file not found; expected a TLE file"
    with pytest.raises(ElementSetError) as caught:
        load_tle(tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a folder; expected a TLE file"


# --- nothing but ElementSetError, whatever the damage ----------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    position=st.integers(min_value=0, max_value=len(TITLE) + 2 * 70),
    char=st.sampled_from(list("0123456789 .+-xAZ\t\n\x7f")),
)
def test_any_single_character_damage_raises_element_set_error_or_parses(position, char):
    text = lines(TITLE, L1, L2)
    damaged = text[:position] + char + text[position + 1 :]
    try:
        sats = parse_tle_text(damaged)
    except ElementSetError as err:
        assert err.problem
    else:
        assert len(sats) == 1


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_escape_as_another_exception(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "random.tle"
    path.write_bytes(data)
    with pytest.raises(ElementSetError):
        load_tle(path)
