"""brahe's part of bench/contacts.py, run inside brahe's own virtual environment.

Usage (done by bench/contacts.py): ``python _brahe_contacts.py REQUEST.json RESULT.json``.
REQUEST: ``{"tle": path, "stations": [[name, lat_deg, lon_deg, alt_m], ...], "start_unix_s",
"duration_s", "min_elevation_deg"}``. RESULT: the windows (satellite index, station index,
start and end in POSIX seconds) and the seconds spent building propagators and searching.

Earth orientation: a static provider with every value zero (UT1 = UTC, no polar motion), which
is also what orbitlearn assumes; nothing is downloaded.
"""

from __future__ import annotations

import json
import sys
import time


def main(request_path: str, result_path: str) -> None:
    started = time.perf_counter()
    import brahe as bh

    with open(request_path) as handle:
        request = json.load(handle)
    bh.set_global_eop_provider_from_static_provider(bh.StaticEOPProvider.from_zero())
    imported = time.perf_counter()

    with open(request["tle"]) as handle:
        lines = [line.rstrip() for line in handle if line.strip()]
    propagators = []
    for index in range(len(lines) // 3):
        name, line1, line2 = lines[3 * index : 3 * index + 3]
        propagator = bh.SGPPropagator.from_3le(name.strip(), line1, line2, 60.0)
        propagators.append(propagator.with_id(index))
    locations = [
        bh.PointLocation(lon, lat, alt).with_id(index)
        for index, (_name, lat, lon, alt) in enumerate(request["stations"])
    ]
    start = bh.Epoch.from_unix_timestamp(request["start_unix_s"])
    # start + seconds, not Epoch.from_unix_timestamp(end): with the latter as the search end,
    # brahe 1.8.0 returned only the windows of the first ~14 hours of a day.
    end = start + float(request["duration_s"])
    constraint = bh.ElevationConstraint(min_elevation_deg=request["min_elevation_deg"])
    built = time.perf_counter()
    windows = bh.location_accesses(locations, propagators, start, end, constraint)
    searched = time.perf_counter()

    result = {
        "brahe_version": bh.__version__ if hasattr(bh, "__version__") else "unknown",
        "threads": bh.get_max_threads(),
        "import_s": imported - started,
        "build_s": built - imported,
        "search_s": searched - built,
        "windows": [
            [
                w.satellite_id,
                w.location_id,
                w.window_open.unix_timestamp(),
                w.window_close.unix_timestamp(),
            ]
            for w in windows
        ],
    }
    with open(result_path, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
