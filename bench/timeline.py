"""Building a mission Timeline: wall time and peak memory, against raw sgp4 as the baseline.

Cases (Walker-delta shells at 550 km, 53 deg; two ground stations; 10 s grid; defaults
otherwise: SRAM, Zynq-7000, history space weather, 3U power):

- ``100x7d``: 100 satellites for 7 days (6.05 M satellite-times). Target: <= 10 s.
- ``1000x1d``: 1000 satellites for 1 day (8.64 M satellite-times).

For each case it prints the build wall time; the baseline ``sgp4 at every grid time`` (one
``SatrecArray.sgp4`` call per chunk over the whole grid, nothing else: the propagation floor of a
timeline computed by brute force) and the ratio build / baseline; the save and load times of
the Parquet file and its size; the build's CPU time and the machine's load average (other
processes on a shared machine inflate the wall time; the CPU time shows what the build itself
cost); and the peak memory, both as traced by ``tracemalloc`` (numpy
reports its buffers to it; measured in a second, untimed build because tracing slows every
allocation) and as the process's peak resident set after the timed build
(``resource.getrusage``).
Each case runs in a fresh subprocess so the peaks are its own. The space-weather record is read
once per process (~1-2 s); the build time is shown with it already loaded, and that load
separately.

Run: ``.venv/bin/python bench/timeline.py`` (or ``... --case 100x7d``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

CASES = {"100x7d": (100, 10, 7.0), "1000x1d": (1000, 40, 1.0)}
STEP_S = 10.0
TARGET_100X7_S = 10.0


def run_case(name: str) -> dict[str, float]:
    from orbitlearn.space.space_weather import load_space_weather
    from orbitlearn.space.stations import GroundStation
    from orbitlearn.space.timeline import Timeline
    from orbitlearn.space.timescale import time_grid_unix_s, unix_s_to_jd_fr
    from orbitlearn.space.walker import walker_constellation

    n_sats, planes, days = CASES[name]
    shell = walker_constellation(n_sats, planes, 1, altitude_m=550e3, inclination_deg=53.0)
    stations = [GroundStation("Bremen", 53.1, 8.8), GroundStation("Svalbard", 78.2298, 15.4078)]
    start, duration = float(shell.epochs_unix_s[0]), days * 86_400.0

    began = time.perf_counter()
    load_space_weather()
    weather_s = time.perf_counter() - began

    # Baseline: sgp4 alone at every grid time.
    times = time_grid_unix_s(start, duration, STEP_S)
    jd, fr = unix_s_to_jd_fr(times)
    began = time.perf_counter()
    chunk = max(1, 2_000_000 // n_sats)
    for lo in range(0, times.size, chunk):
        shell.satrec_array.sgp4(jd[lo : lo + chunk], fr[lo : lo + chunk])
    baseline_s = time.perf_counter() - began

    load_before = os.getloadavg()[0]
    began, began_cpu = time.perf_counter(), time.process_time()
    timeline = Timeline.build(shell, stations, start, duration, step_s=STEP_S)
    build_s = time.perf_counter() - began
    build_cpu_s = time.process_time() - began_cpu
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    # Peak memory of the build, traced in a second (untimed) build: tracing slows allocation.
    del timeline
    tracemalloc.start()
    timeline = Timeline.build(shell, stations, start, duration, step_s=STEP_S)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "timeline.parquet"
        began = time.perf_counter()
        timeline.save(path)
        save_s = time.perf_counter() - began
        size_mb = path.stat().st_size / 1e6
        began = time.perf_counter()
        Timeline.load(path)
        load_s = time.perf_counter() - began
    return {
        "satellite_times": float(n_sats * times.size),
        "space_weather_load_s": weather_s,
        "baseline_sgp4_s": baseline_s,
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "load_average_1min": load_before,
        "save_s": save_s,
        "load_s": load_s,
        "file_mb": size_mb,
        "traced_peak_mb": traced_peak / 1e6,
        "peak_rss_mb": rss_mb,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), help="run one case in this process")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case)))
        return 0
    status = 0
    for name in CASES:
        completed = subprocess.run(
            [sys.executable, __file__, "--case", name], capture_output=True, text=True, check=False
        )
        if completed.returncode:
            print(f"{name}: failed\n{completed.stderr}", file=sys.stderr)
            return 1
        r = json.loads(completed.stdout.strip().splitlines()[-1])
        print(
            f"{name}: {r['satellite_times'] / 1e6:.2f} M satellite-times\n"
            f"  build            {r['build_s']:7.2f} s   "
            f"({r['satellite_times'] / r['build_s'] / 1e6:.2f} M satellite-times/s; "
            f"{r['build_cpu_s']:.2f} s CPU; 1-min load {r['load_average_1min']:.1f} "
            f"on {os.cpu_count()} cores)\n"
            f"  baseline sgp4    {r['baseline_sgp4_s']:7.2f} s   "
            f"(sgp4 at every grid time; build / baseline = {r['build_s'] / r['baseline_sgp4_s']:.2f})\n"
            f"  space weather    {r['space_weather_load_s']:7.2f} s   (read once per process)\n"
            f"  save / load      {r['save_s']:7.2f} s / {r['load_s']:.2f} s   "
            f"({r['file_mb']:.0f} MB Parquet)\n"
            f"  peak memory      {r['traced_peak_mb']:7.0f} MB traced (tracemalloc), "
            f"{r['peak_rss_mb']:.0f} MB peak RSS"
        )
        if name == "100x7d":
            verdict = "meets" if r["build_s"] <= TARGET_100X7_S else "MISSES"
            print(f"  target           {verdict} the {TARGET_100X7_S:g} s target for 100 x 7 days")
            status = 0 if r["build_s"] <= TARGET_100X7_S else 1
    return status


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
