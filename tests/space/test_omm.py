"""OMM reading (JSON and CSV): equivalence with TLEs, and messages naming record, field, value."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sgp4 import omm as sgp4_omm
from sgp4.api import Satrec

from orbitlearn.errors import ElementSetError
from orbitlearn.space.omm import load_omm, parse_omm_records, parse_omm_text
from orbitlearn.space.tle import load_tle, parse_tle_text

ONE_METRE_KM = 1e-3

L1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
L2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"

COLUMNS = [
    "OBJECT_NAME",
    "OBJECT_ID",
    "EPOCH",
    "MEAN_MOTION",
    "ECCENTRICITY",
    "INCLINATION",
    "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER",
    "MEAN_ANOMALY",
    "EPHEMERIS_TYPE",
    "CLASSIFICATION_TYPE",
    "NORAD_CAT_ID",
    "ELEMENT_SET_NO",
    "REV_AT_EPOCH",
    "BSTAR",
    "MEAN_MOTION_DOT",
    "MEAN_MOTION_DDOT",
]


def _exponent(field: str) -> float:
    """A TLE ``-11606-4`` field: implied leading decimal point, power-of-ten exponent."""
    field = field.strip()
    sign = -1.0 if field.startswith("-") else 1.0
    digits = field.lstrip("+-")
    return sign * float("0." + digits[:-2]) * 10.0 ** int(digits[-2:])


def omm_from_tle(name: str, line1: str, line2: str) -> dict[str, object]:
    """The OMM record CelesTrak publishes for a TLE (values read from the TLE's columns)."""
    year = int(line1[18:20])
    year += 2000 if year < 57 else 1900
    epoch = datetime(year, 1, 1) + timedelta(days=float(line1[20:32]) - 1.0)
    designator = line1[9:17].strip()
    century = "20" if int(designator[:2]) < 57 else "19"
    return {
        "OBJECT_NAME": name,
        "OBJECT_ID": f"{century}{designator[:2]}-{designator[2:]}",
        "EPOCH": epoch.isoformat(timespec="microseconds"),
        "MEAN_MOTION": float(line2[52:63]),
        "ECCENTRICITY": float("0." + line2[26:33]),
        "INCLINATION": float(line2[8:16]),
        "RA_OF_ASC_NODE": float(line2[17:25]),
        "ARG_OF_PERICENTER": float(line2[34:42]),
        "MEAN_ANOMALY": float(line2[43:51]),
        "EPHEMERIS_TYPE": int(line1[62]),
        "CLASSIFICATION_TYPE": line1[7],
        "NORAD_CAT_ID": int(line1[2:7]),
        "ELEMENT_SET_NO": int(line1[64:68]),
        "REV_AT_EPOCH": int(line2[63:68]),
        "BSTAR": _exponent(line1[53:61]),
        "MEAN_MOTION_DOT": float(line1[33:43]),
        "MEAN_MOTION_DDOT": _exponent(line1[44:52]),
    }


def to_csv(records: list[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def positions_km(satrecs, days: float = 3.0) -> np.ndarray:
    minutes = np.linspace(0.0, days * 1440.0, 97)
    out = []
    for satrec in satrecs:
        jd = np.full(minutes.shape, satrec.jdsatepoch)
        errors, r, _ = satrec.sgp4_array(jd, satrec.jdsatepochF + minutes / 1440.0)
        assert not errors.any()
        out.append(r)
    return np.array(out)


ISS = omm_from_tle("ISS (ZARYA)", L1, L2)


# --- equivalence with TLEs -------------------------------------------------------------------


def test_iss_json_and_csv_propagate_like_the_tle():
    tle = parse_tle_text(f"ISS (ZARYA)\n{L1}\n{L2}\n")
    from_json = parse_omm_text(json.dumps([ISS]), source="iss.json")
    from_csv = parse_omm_text(to_csv([ISS]), source="iss.csv")
    reference = positions_km(tle.satrecs)
    for sats in (from_json, from_csv):
        assert sats.names == ("ISS (ZARYA)",)
        assert sats.catalog_numbers == ("25544",)
        distance = np.linalg.norm(positions_km(sats.satrecs) - reference, axis=-1)
        assert distance.max() < ONE_METRE_KM


def test_real_constellation_as_omm_propagates_like_its_tle_file(shared_data, tmp_path):
    path = shared_data / "tle" / "iridium-next.txt"
    tle = load_tle(path)
    text = path.read_text().splitlines()
    records = [
        omm_from_tle(text[i].strip(), text[i + 1], text[i + 2]) for i in range(0, len(text), 3)
    ]
    json_path = tmp_path / "iridium.json"
    json_path.write_text(json.dumps(records, indent=1))
    sats = load_omm(json_path)
    assert sats.names == tle.names
    assert sats.catalog_numbers == tle.catalog_numbers
    distance = np.linalg.norm(positions_km(sats.satrecs) - positions_km(tle.satrecs), axis=-1)
    assert distance.max() < ONE_METRE_KM
    np.testing.assert_allclose(sats.epochs_unix_s, tle.epochs_unix_s, rtol=0, atol=1e-3)


def test_same_satrec_as_sgp4s_own_omm_reader():
    fields = {key: str(value) for key, value in ISS.items()}
    theirs = Satrec()
    sgp4_omm.initialize(theirs, fields)
    ours = parse_omm_records([fields]).satrecs[0]
    for attribute in ("no_kozai", "ecco", "inclo", "nodeo", "argpo", "mo", "bstar", "ndot"):
        assert getattr(ours, attribute) == pytest.approx(getattr(theirs, attribute), rel=1e-12)
    assert (ours.jdsatepoch + ours.jdsatepochF) == pytest.approx(
        theirs.jdsatepoch + theirs.jdsatepochF, abs=1e-9
    )
    assert (ours.classification, ours.intldesg, ours.elnum, ours.revnum) == (
        "U",
        "98067A",
        292,
        56353,
    )


# --- accepted variations ---------------------------------------------------------------------


def test_format_is_decided_by_content_not_extension(tmp_path):
    csv_named_json = tmp_path / "actually_csv.json"
    csv_named_json.write_text(to_csv([ISS]))
    json_named_dat = tmp_path / "elements.dat"
    json_named_dat.write_text(json.dumps([ISS]))
    assert load_omm(csv_named_json).names == ("ISS (ZARYA)",)
    assert load_omm(json_named_dat).names == ("ISS (ZARYA)",)


def test_single_object_strings_optional_fields_and_z_suffix():
    record = {
        key: str(value)
        for key, value in ISS.items()
        if key not in ("OBJECT_NAME", "OBJECT_ID", "EPHEMERIS_TYPE", "ELEMENT_SET_NO")
    }
    record["EPOCH"] += "Z"
    sats = parse_omm_text(json.dumps(record))
    assert sats.names == ("sat-25544",)
    assert sats.satrecs[0].elnum == 999


def test_duplicate_names_made_unique():
    second = dict(ISS, NORAD_CAT_ID=25545)
    sats = parse_omm_records([ISS, second, ISS])
    assert sats.names == ("ISS (ZARYA) [25544] #1", "ISS (ZARYA) [25545]", "ISS (ZARYA) [25544] #2")


# --- bad records: (change to the ISS record, problem) ----------------------------------------

BAD_FIELDS = [
    ({"MEAN_MOTION": None}, "required field MEAN_MOTION is missing"),
    ({"EPOCH": None}, "required field EPOCH is missing"),
    ({"BSTAR": "  "}, "required field BSTAR is empty"),
    ({"MEAN_MOTION": "abc"}, "MEAN_MOTION is 'abc', expected revolutions per day > 0"),
    ({"MEAN_MOTION": 0}, "MEAN_MOTION is 0, expected revolutions per day > 0"),
    ({"MEAN_MOTION": -15.5}, "MEAN_MOTION is -15.5, expected revolutions per day > 0"),
    ({"ECCENTRICITY": 1.2}, "ECCENTRICITY is 1.2, expected a number in [0, 1)"),
    ({"ECCENTRICITY": 1}, "ECCENTRICITY is 1, expected a number in [0, 1)"),
    ({"ECCENTRICITY": -0.001}, "ECCENTRICITY is -0.001, expected a number in [0, 1)"),
    ({"INCLINATION": 181.0}, "INCLINATION is 181.0, expected degrees in [0, 180]"),
    ({"INCLINATION": True}, "INCLINATION is True, expected degrees in [0, 180]"),
    ({"INCLINATION": "nan"}, "INCLINATION is 'nan', expected degrees in [0, 180]"),
    ({"RA_OF_ASC_NODE": 400.0}, "RA_OF_ASC_NODE is 400.0, expected degrees in [-360, 360]"),
    ({"MEAN_ANOMALY": [1]}, "MEAN_ANOMALY is [1], expected degrees in [-360, 360]"),
    ({"BSTAR": "1e999"}, "BSTAR is '1e999', expected a finite number (1 / Earth radii)"),
    (
        {"NORAD_CAT_ID": 400000},
        "NORAD_CAT_ID is 400000, expected a catalog number in [0, 339999] (digits or Alpha-5 "
        "such as A0001)",
    ),
    (
        {"NORAD_CAT_ID": "25544A"},
        "NORAD_CAT_ID is '25544A', expected a catalog number in [0, 339999] (digits or Alpha-5 "
        "such as A0001)",
    ),
    (
        {"EPOCH": "23 Jan 2025"},
        "EPOCH is '23 Jan 2025', expected an ISO 8601 UTC time such as 2025-01-23T17:56:17.678016",
    ),
    (
        {"EPOCH": "2025-02-30T00:00:00"},
        "EPOCH is '2025-02-30T00:00:00', expected an ISO 8601 UTC time such as "
        "2025-01-23T17:56:17.678016 (day is out of range for month)",
    ),
    (
        {"EPOCH": "1900-01-01T00:00:00"},
        "EPOCH is '1900-01-01T00:00:00', expected an ISO 8601 UTC time such as "
        "2025-01-23T17:56:17.678016 between 1957 and 2100",
    ),
    ({"CLASSIFICATION_TYPE": "X"}, "CLASSIFICATION_TYPE is 'X', expected U, C or S"),
    ({"ELEMENT_SET_NO": -1}, "ELEMENT_SET_NO is -1, expected a whole number >= 0"),
    ({"EPHEMERIS_TYPE": 2.5}, "EPHEMERIS_TYPE is 2.5, expected a whole number in [0, 9]"),
    (
        {"MEAN_MOTION": 99.0},
        "sgp4 rejects these elements (error 6: mrt is less than 1.0 which indicates the "
        "satellite has decayed)",
    ),
]


def _damaged(change: dict[str, object]) -> dict[str, object]:
    record = dict(ISS)
    for key, value in change.items():
        if value is None:
            del record[key]
        else:
            record[key] = value
    return record


@pytest.mark.parametrize(("change", "problem"), BAD_FIELDS, ids=[p for _, p in BAD_FIELDS])
def test_bad_json_record_names_record_field_value_and_rule(change, problem):
    text = json.dumps([ISS, _damaged(change)])
    with pytest.raises(ElementSetError) as caught:
        parse_omm_text(text, source="sats.json")
    assert caught.value.line_number is None
    assert caught.value.problem == f"record 2 (ISS (ZARYA)): {problem}"


def test_bad_csv_record_names_its_line():
    records = [ISS, ISS, dict(ISS, OBJECT_NAME="BROKEN", ECCENTRICITY="0.0x")]
    with pytest.raises(ElementSetError) as caught:
        parse_omm_text(to_csv(records), source="sats.csv")
    assert str(caught.value) == (
        "sats.csv, line 4: record 3 (BROKEN): ECCENTRICITY is '0.0x', expected a number in [0, 1)"
    )


# --- bad files: (text, line number, problem) -------------------------------------------------

HEADER = ",".join(COLUMNS)
BAD_TEXT = [
    pytest.param(
        "", None, "is empty; expected OMM records (a JSON list of objects or CSV)", id="empty"
    ),
    pytest.param(
        " \n\n", None, "is empty; expected OMM records (a JSON list of objects or CSV)", id="blank"
    ),
    pytest.param("[]", None, "holds an empty JSON list; expected OMM records", id="empty-list"),
    pytest.param(
        '[\n  {"OBJECT_NAME": "ISS",\n   "EPOCH": }\n]',
        3,
        "is not valid JSON: Expecting value (column 13)",
        id="malformed-json",
    ),
    pytest.param(
        '[{"OBJECT_NAME": "ISS"}',
        1,
        "is not valid JSON: Expecting ',' delimiter (column 24)",
        id="unclosed-json",
    ),
    pytest.param(
        "[1, 2]",
        None,
        "record 1 is a number, expected an object with OMM fields such as NORAD_CAT_ID and EPOCH",
        id="record-not-object",
    ),
    pytest.param(
        '{"a": 1}',
        None,
        "record 1: required field NORAD_CAT_ID is missing",
        id="object-without-fields",
    ),
    pytest.param(
        "<?xml version='1.0'?><ndm></ndm>",
        None,
        "looks like OMM XML, which is not supported; expected OMM JSON or CSV (CelesTrak "
        "FORMAT=json or FORMAT=csv)",
        id="xml",
    ),
    pytest.param(
        f"ISS (ZARYA)\n{L1}\n{L2}\n",
        None,
        "looks like a TLE file, not OMM; read it as a TLE file (--tle)",
        id="tle",
    ),
    pytest.param(
        "hello world\n",
        1,
        "is neither OMM JSON nor OMM CSV: the first line is not a CSV header with OMM column "
        "names such as OBJECT_NAME,NORAD_CAT_ID,EPOCH,MEAN_MOTION",
        id="not-omm",
    ),
    pytest.param(
        HEADER.replace(",BSTAR", "").replace(",MEAN_MOTION_DOT", "") + "\n",
        1,
        "the CSV header lacks the column(s) BSTAR, MEAN_MOTION_DOT; an OMM record needs "
        "NORAD_CAT_ID, EPOCH, MEAN_MOTION, ECCENTRICITY, INCLINATION, RA_OF_ASC_NODE, "
        "ARG_OF_PERICENTER, MEAN_ANOMALY, BSTAR, MEAN_MOTION_DOT, MEAN_MOTION_DDOT",
        id="csv-missing-columns",
    ),
    pytest.param(
        HEADER + ",BSTAR\n",
        1,
        "the CSV header repeats the column(s) BSTAR",
        id="csv-duplicate-column",
    ),
    pytest.param(
        HEADER + "\n",
        1,
        "has a CSV header but no records; expected one row per satellite",
        id="csv-no-rows",
    ),
    pytest.param(
        HEADER + "\nISS,1998-067A,2008-09-20T12:25:40.104192\n",
        2,
        "record 1 has 3 values, expected 17 (one per header column)",
        id="csv-short-row",
    ),
]


@pytest.mark.parametrize(("text", "line_number", "problem"), BAD_TEXT)
def test_bad_text(text, line_number, problem):
    with pytest.raises(ElementSetError) as caught:
        parse_omm_text(text, source="sats.omm")
    assert (caught.value.line_number, caught.value.problem) == (line_number, problem)


def test_pathological_json_is_an_element_set_error():
    with pytest.raises(ElementSetError, match="is not usable OMM JSON: maximum recursion depth"):
        parse_omm_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ElementSetError, match="is not usable OMM JSON: Exceeds the limit"):
        parse_omm_text("[" + "1" * 5000 + "]")
    huge = json.dumps([ISS]).replace('"MEAN_MOTION": 15.72125391', '"MEAN_MOTION": 1' + "0" * 400)
    with pytest.raises(ElementSetError) as caught:
        parse_omm_text(huge)
    assert caught.value.problem == (
        f"record 1 (ISS (ZARYA)): MEAN_MOTION is 1{'0' * 400}, expected revolutions per day > 0"
    )


def test_malformed_json_shows_the_line():
    with pytest.raises(ElementSetError) as caught:
        parse_omm_text('[\n  {"OBJECT_NAME": "ISS",\n   "EPOCH": }\n]', source="bad.json")
    assert str(caught.value) == (
        'bad.json, line 3: is not valid JSON: Expecting value (column 13)\n       "EPOCH": }'
    )


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ElementSetError) as caught:
        load_omm(tmp_path / "none.json")
    assert str(caught.value) == f"{tmp_path / 'none.json'}: file not found; expected an OMM file"
    binary = tmp_path / "image.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ElementSetError) as caught:
        load_omm(binary)
    assert (
        caught.value.problem == "is a binary file (NUL byte at offset 8); expected an OMM text file"
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_raises_only_element_set_error(text):
    try:
        parse_omm_text(text)
    except ElementSetError as err:
        assert err.problem
