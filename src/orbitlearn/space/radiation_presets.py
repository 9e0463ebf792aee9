"""Memory and device models for the radiation environment, with cited presets.

A :class:`MemoryModel` turns the radiation environment into upsets per bit per second for one kind
of memory; a :class:`DeviceModel` gives functional interrupts (resets, SEFI) per rad of dose.
Every number is a default that can be overridden; each preset cites its source next to it, and
estimates are marked (est.).

**Environment calibration.** :mod:`orbitlearn.space.radiation` is calibrated for commercial SRAM
(Alsat-1): its environment yields ~4.04e-7 upsets/bit/day averaged over a ~686 km sun-synchronous
orbit. A memory scales that by ``orbit_average_upsets_per_bit_day / 4.04e-7``, so its
``orbit_average_upsets_per_bit_day`` is what it would see on that reference orbit.

**ECC model.** A memory with SECDED ECC (``ecc_word_bits`` stored bits per word of
``ecc_data_bits`` data bits, scrubbed every ``scrub_interval_s``) corrects any single upset per
word. What remains visible to software per data bit per second is

* multi-bit upsets that land in one word: ``(n / k) * rate * mbu_fraction * mbu_same_word``, and
* two independent upsets accumulating in one word between scrubs:
  ``n**2 * rate**2 * T / (2 k)`` (Poisson, ``n * rate * T << 1``),

with ``rate`` the raw per-bit rate, ``n`` / ``k`` the stored / data bits per word and ``T`` the
scrub interval. Each such event corrupts a word (two or more bits); the rate counts events.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from orbitlearn.errors import ConfigError
from orbitlearn.space._config_checks import check_number
from orbitlearn.space.timescale import DAY_S

__all__ = [
    "DEVICE_PRESETS",
    "MEMORY_PRESETS",
    "REFERENCE_SRAM_UPSETS_PER_BIT_DAY",
    "DeviceModel",
    "MemoryModel",
    "per_day",
    "resolve_device",
    "resolve_memory",
    "stuck_bit_fraction",
]

FloatArray = NDArray[np.float64]

#: Commercial SRAM in a ~686 km sun-synchronous orbit: 4.04e-7 upsets/bit/day over 8 years,
#: 98.6 % single-bit, ~1.2 % multi-bit (Alsat-1; REFERENCE.md "Radiation"). The environment in
#: orbitlearn.space.radiation is calibrated to this.
REFERENCE_SRAM_UPSETS_PER_BIT_DAY = 4.04e-7


@dataclass(frozen=True)
class MemoryModel:
    """One kind of memory: its upset rate on the reference orbit, multi-bit shares, ECC, wear.

    Attributes:
        name: preset name or a user label.
        orbit_average_upsets_per_bit_day: raw (before ECC) upsets per bit per day averaged over
            the reference orbit (~686 km SSO, the Alsat-1 orbit).
        multi_bit_fraction_protons: share of upsets from protons (SAA, horns, SPE) that flip more
            than one bit.
        multi_bit_fraction_ions: the same for heavy ions (galactic cosmic rays).
        ecc: whether SECDED ECC with scrubbing protects the memory (see the module docstring).
        ecc_data_bits, ecc_word_bits: data and stored bits per ECC word.
        scrub_interval_s: time between scrubs of the whole memory.
        mbu_same_word: share of multi-bit upsets whose flipped bits share an ECC word (1 without
            interleaving).
        stuck_bits_per_bit_per_rad: permanent (stuck-at) bits per bit per rad of dose, the
            initial slope of ``1 - exp(-k * dose)``.
    """

    name: str = "custom"
    orbit_average_upsets_per_bit_day: float = REFERENCE_SRAM_UPSETS_PER_BIT_DAY
    multi_bit_fraction_protons: float = 0.011
    multi_bit_fraction_ions: float = 0.04
    ecc: bool = False
    ecc_data_bits: int = 64
    ecc_word_bits: int = 72
    scrub_interval_s: float = 3600.0
    mbu_same_word: float = 1.0
    stuck_bits_per_bit_per_rad: float = 1e-9

    def __post_init__(self) -> None:
        check_number(
            "memory.orbit_average_upsets_per_bit_day",
            self.orbit_average_upsets_per_bit_day,
            0.0,
            1.0,
        )
        check_number("memory.multi_bit_fraction_protons", self.multi_bit_fraction_protons, 0.0, 1.0)
        check_number("memory.multi_bit_fraction_ions", self.multi_bit_fraction_ions, 0.0, 1.0)
        if not isinstance(self.ecc, bool | np.bool_):
            raise ConfigError("memory.ecc", self.ecc, "true or false")
        check_number("memory.ecc_data_bits", self.ecc_data_bits, 1.0, 4096.0)
        check_number("memory.ecc_word_bits", self.ecc_word_bits, float(self.ecc_data_bits), 4096.0)
        check_number(
            "memory.scrub_interval_s", self.scrub_interval_s, 0.0, low_open=True, unit="seconds"
        )
        check_number("memory.mbu_same_word", self.mbu_same_word, 0.0, 1.0)
        check_number("memory.stuck_bits_per_bit_per_rad", self.stuck_bits_per_bit_per_rad, 0.0, 1.0)

    @property
    def rate_scale(self) -> float:
        """Multiplier on the SRAM-calibrated environment rate."""
        return self.orbit_average_upsets_per_bit_day / REFERENCE_SRAM_UPSETS_PER_BIT_DAY

    def visible_rate_per_bit_s(
        self, raw_rate_per_bit_s: ArrayLike, multi_bit_fraction: ArrayLike
    ) -> FloatArray:
        """Upsets per bit per second that software sees: the raw rate, or the ECC residual.

        >>> sram = MEMORY_PRESETS["sram"]
        >>> float(sram.visible_rate_per_bit_s(1e-12, 0.01))
        1e-12
        >>> ecc = MEMORY_PRESETS["ecc_dram"]
        >>> float(ecc.visible_rate_per_bit_s(1e-12, 0.01)) < 1e-12 * 0.02
        True
        """
        raw = np.asarray(raw_rate_per_bit_s, dtype=np.float64)
        if not self.ecc:
            return raw
        n, k = float(self.ecc_word_bits), float(self.ecc_data_bits)
        mbu = np.asarray(multi_bit_fraction, dtype=np.float64)
        same_word = (n / k) * raw * mbu * self.mbu_same_word
        accumulated = n * n * raw * raw * self.scrub_interval_s / (2.0 * k)
        return same_word + accumulated

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON-ready)."""
        return asdict(self)


@dataclass(frozen=True)
class DeviceModel:
    """A processor's functional interrupts (SEFI: it hangs or resets and loses volatile state).

    Attributes:
        name: preset name or a user label.
        resets_per_rad: functional interrupts per rad of total ionizing dose (the dose rate is
            the proxy for the flux of the protons that cause them).
    """

    name: str = "custom"
    resets_per_rad: float = 0.0

    def __post_init__(self) -> None:
        check_number("device.resets_per_rad", self.resets_per_rad, 0.0, 1e6)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON-ready)."""
        return asdict(self)


MEMORY_PRESETS: dict[str, MemoryModel] = {
    # Commercial SRAM: 4.04e-7 upsets/bit/day in ~686 km SSO, 98.6 % single-bit / ~1.2 % multi
    # (Alsat-1, 8 years; REFERENCE.md). Proton / ion multi-bit split (est.) averages to ~1.2 %.
    # Stuck bits: 1e-9 per bit per rad (est.; commercial SRAM shows hard errors long before its
    # ~10-50 krad functional limit).
    "sram": MemoryModel(name="sram"),
    # Modern DRAM / HBM, raw (before ECC): ~1e-10 to 1e-9 upsets/bit/day (est., REFERENCE.md);
    # the upper end is the conservative default.
    "dram": MemoryModel(name="dram", orbit_average_upsets_per_bit_day=1e-9),
    # The same DRAM behind SECDED (72, 64) ECC scrubbed hourly; residual per the module docstring.
    # mbu_same_word 0.5 (est.): DRAM multi-cell upsets often span adjacent words' bits.
    "ecc_dram": MemoryModel(
        name="ecc_dram", orbit_average_upsets_per_bit_day=1e-9, ecc=True, mbu_same_word=0.5
    ),
    # Commercial SRAM behind SECDED (72, 64) ECC scrubbed hourly (est. mbu_same_word 0.5 with
    # typical 2-4 way interleaving).
    "ecc_sram": MemoryModel(name="ecc_sram", ecc=True, mbu_same_word=0.5),
}

DEVICE_PRESETS: dict[str, DeviceModel] = {
    # Xilinx Zynq-7000 SoC: ~3 resets/day projected at 800 km (est., REFERENCE.md), divided by
    # the 1.5 krad/yr orbit-average dose at 800 km (middle of 1-2 krad/yr, REFERENCE.md).
    "zynq7000": DeviceModel(name="zynq7000", resets_per_rad=3.0 * 365.25 / 1500.0),
    # Google Trillium TPU host: SEFI ~1 per 400-450 rad (arXiv 2511.19468, 2025).
    "trillium_host": DeviceModel(name="trillium_host", resets_per_rad=1.0 / 425.0),
    # Google Trillium TPU chip: functional interrupts 1 per 5 krad (arXiv 2511.19468, 2025).
    "trillium_chip": DeviceModel(name="trillium_chip", resets_per_rad=1.0 / 5000.0),
    # A device that never resets (isolate upsets in a study).
    "none": DeviceModel(name="none", resets_per_rad=0.0),
}


def resolve_memory(memory: str | MemoryModel | dict[str, Any], **overrides: Any) -> MemoryModel:
    """A memory model from a preset name, a model, or a dict (``preset`` key + overrides).

    >>> resolve_memory("sram", orbit_average_upsets_per_bit_day=1e-6).orbit_average_upsets_per_bit_day
    1e-06
    >>> resolve_memory("flash")
    Traceback (most recent call last):
    ...
    orbitlearn.errors.ConfigError: Expected `memory` to be one of 'sram', 'dram', 'ecc_dram', 'ecc_sram' or a table of MemoryModel fields, actual: 'flash'
    """
    return _resolve("memory", memory, MEMORY_PRESETS, MemoryModel, overrides)


def resolve_device(device: str | DeviceModel | dict[str, Any], **overrides: Any) -> DeviceModel:
    """A device model from a preset name, a model, or a dict (``preset`` key + overrides)."""
    return _resolve("device", device, DEVICE_PRESETS, DeviceModel, overrides)


def _resolve(
    field: str, value: Any, presets: dict[str, Any], kind: type, overrides: dict[str, Any]
) -> Any:
    allowed = ", ".join(repr(name) for name in presets) + f" or a table of {kind.__name__} fields"
    base: Any
    if isinstance(value, kind):
        base = value
    elif isinstance(value, str):
        if value not in presets:
            raise ConfigError(field, value, "one of " + allowed)
        base = presets[value]
    elif isinstance(value, dict):
        values = dict(value)
        preset = values.pop("preset", None)
        if preset is not None:
            base = _resolve(field, preset, presets, kind, {})
        else:
            base = kind(name=values.pop("name", "custom"))
        overrides = {**values, **overrides}
    else:
        raise ConfigError(field, value, "one of " + allowed)
    known = sorted(item.name for item in fields(kind))
    for key in overrides:
        if key not in known:
            raise ConfigError(
                f"{field}", key, "a table with keys among 'preset', " + ", ".join(map(repr, known))
            )
    return kind(**{**asdict(base), **overrides}) if overrides else base


def stuck_bit_fraction(dose_rad: ArrayLike, memory: MemoryModel) -> FloatArray:
    """Share of bits stuck after ``dose_rad`` of total dose: ``1 - exp(-k * dose)``."""
    return -np.expm1(-memory.stuck_bits_per_bit_per_rad * np.asarray(dose_rad, dtype=np.float64))


def per_day(rate_per_s: ArrayLike) -> FloatArray:
    """A per-second rate as per day."""
    return np.asarray(rate_per_s, dtype=np.float64) * DAY_S
