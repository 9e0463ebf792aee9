"""Device profiles: what an onboard computer draws and how fast it trains.

A :class:`DeviceProfile` turns counted work into simulated time and energy:
``seconds = FLOPs / sustained_flop_per_s`` and ``joules = seconds * power_w[mode]``. The
sustained rate is what small-model training reaches in practice, well below the datasheet peak;
each preset states its peak, how the sustained figure was derived, and its sources (``est.``
marks an estimate, not a measurement).

Presets (``DEVICE_PRESETS``, look up with :func:`get_device`):

============================  =========  ==========  ===============  ===========================
name                          train W    idle W      sustained FLOP/s peak (fp32)
============================  =========  ==========  ===============  ===========================
``jetson-orin-nano-7w``       7          3 (est.)    2.6e11 (est.)    8.6e11: 1024 CUDA cores x 2
                                                                      x 420 MHz (7 W mode)
``jetson-orin-nano-15w``      15         3 (est.)    3.8e11 (est.)    1.28e12: 1024 x 2 x 625 MHz
``jetson-orin-nano-25w``      25         3 (est.)    6.3e11 (est.)    2.09e12: 1024 x 2 x 1020 MHz
                                                                      (Orin Nano Super, 25 W mode)
``raspberry-pi-4``            6.3        1.8         4.0e9 (est.)     HPL ~8 GFLOP/s fp64 measured
``rad-hard-cpu``              10         10          1.0e8 (est.)     4e8: RAD750 class, 200 MHz,
                                                                      one fused multiply-add/cycle
============================  =========  ==========  ===============  ===========================

Sources: Jetson Orin Nano power modes 7/15/25 W and GPU clocks 420/625 MHz (Orin Nano 8 GB
nvpmodel table) and 1020 MHz (Orin Nano Super); Raspberry Pi 4 1.8-6.3 W (REFERENCE.md, Power
and compute) and HPL ~8 GFLOP/s on Raspberry Pi OS 64-bit (Feiereisen 2022); RAD750: 200 MHz,
266 MIPS, 5 W processor / 10 W single-board computer, 256 MB DRAM on Curiosity (BAE Systems
figures as quoted by Wikipedia). Sustained rates for the GPU presets are 30 % of the fp32 peak
and for the CPUs half (Pi) or a quarter (RAD750) of the measured/peak figure (est.).

>>> d = get_device("jetson-orin-nano-15w")
>>> d.sustained_flop_per_s, d.seconds_for_flops(3.84e11), d.joules_for_seconds(2.0)
(384000000000.0, 1.0, 30.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from orbitlearn.errors import InputError

__all__ = ["DEVICE_PRESETS", "DeviceProfile", "get_device"]


@dataclass(frozen=True)
class DeviceProfile:
    """An onboard computer's compute rate, power draw per mode and memory.

    Attributes:
        name: preset or user name.
        sustained_flop_per_s: FLOP/s reached by training (what step time is computed from).
        power_w: power draw in W per mode; must contain ``"train"`` (used while training) and
            ``"idle"``.
        memory_bytes: memory available to training (model, optimizer state, activations).
        peak_flop_per_s: datasheet peak, for reference (0 if unknown).
        mode: the mode whose power is charged while training (default ``"train"``).
        source: where the figures come from (``est.`` marks estimates).
    """

    name: str
    sustained_flop_per_s: float
    power_w: Mapping[str, float]
    memory_bytes: int
    peak_flop_per_s: float = 0.0
    mode: str = "train"
    source: str = ""
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        rate = self.sustained_flop_per_s
        if not (isinstance(rate, int | float) and math.isfinite(rate) and rate > 0):
            raise InputError("sustained_flop_per_s", rate, "a finite number > 0")
        if "train" not in self.power_w or "idle" not in self.power_w:
            raise InputError(
                "power_w", dict(self.power_w), "a mapping with 'train' and 'idle' modes"
            )
        for mode, watts in self.power_w.items():
            if not (isinstance(watts, int | float) and math.isfinite(watts) and watts >= 0):
                raise InputError(f"power_w[{mode!r}]", watts, "a finite number of W >= 0")
        if self.mode not in self.power_w:
            raise InputError("mode", self.mode, f"one of {sorted(self.power_w)}")
        if not isinstance(self.memory_bytes, int) or self.memory_bytes <= 0:
            raise InputError("memory_bytes", self.memory_bytes, "an integer > 0")
        object.__setattr__(self, "power_w", MappingProxyType(dict(self.power_w)))

    @property
    def train_power_w(self) -> float:
        """Power charged while training (the ``mode``'s draw), W."""
        return float(self.power_w[self.mode])

    def seconds_for_flops(self, flops: float) -> float:
        """Simulated seconds to execute ``flops`` at the sustained rate."""
        return float(flops) / self.sustained_flop_per_s

    def joules_for_seconds(self, seconds: float, mode: str | None = None) -> float:
        """Energy drawn over ``seconds`` in ``mode`` (default: the training mode), J."""
        key = self.mode if mode is None else mode
        if key not in self.power_w:
            raise InputError("mode", key, f"one of {sorted(self.power_w)}")
        return float(seconds) * float(self.power_w[key])


_GIB = 1 << 30
_MIB = 1 << 20


def _jetson(watts: int, gpu_mhz: float, name: str) -> DeviceProfile:
    peak = 1024 * 2 * gpu_mhz * 1e6
    return DeviceProfile(
        name=name,
        sustained_flop_per_s=0.3 * peak,
        power_w={"train": float(watts), "idle": 3.0},
        memory_bytes=8 * _GIB,
        peak_flop_per_s=peak,
        source=(
            f"Jetson Orin Nano 8 GB, {watts} W mode, GPU {gpu_mhz:g} MHz: peak fp32 = 1024 cores x "
            "2 FLOP x clock; sustained 30 % of peak (est.); idle 3 W (est.)"
        ),
    )


DEVICE_PRESETS: Mapping[str, DeviceProfile] = MappingProxyType(
    {
        "jetson-orin-nano-7w": _jetson(7, 420, "jetson-orin-nano-7w"),
        "jetson-orin-nano-15w": _jetson(15, 625, "jetson-orin-nano-15w"),
        "jetson-orin-nano-25w": _jetson(25, 1020, "jetson-orin-nano-25w"),
        "raspberry-pi-4": DeviceProfile(
            name="raspberry-pi-4",
            sustained_flop_per_s=4.0e9,
            power_w={"train": 6.3, "idle": 1.8},
            memory_bytes=4 * _GIB,
            peak_flop_per_s=9.6e10,
            source=(
                "Raspberry Pi 4 (4x Cortex-A72, 1.5 GHz, 4 GB): 1.8 W idle to 6.3 W loaded; "
                "HPL ~8 GFLOP/s fp64 measured, sustained training ~4 GFLOP/s (est.); peak "
                "4 cores x 16 FLOP/cycle x 1.5 GHz"
            ),
        ),
        "rad-hard-cpu": DeviceProfile(
            name="rad-hard-cpu",
            sustained_flop_per_s=1.0e8,
            power_w={"train": 10.0, "idle": 10.0},
            memory_bytes=256 * _MIB,
            peak_flop_per_s=4.0e8,
            source=(
                "RAD750-class radiation-hardened CPU board: 200 MHz, 266 MIPS, 5 W processor / "
                "10 W board, 256 MB DRAM (BAE Systems figures); peak one fused multiply-add per "
                "cycle, sustained a quarter of it (est.)"
            ),
        ),
    }
)


def get_device(device: str | DeviceProfile) -> DeviceProfile:
    """A profile by preset name (or the profile itself).

    Raises:
        InputError: for an unknown preset name.

    >>> get_device("raspberry-pi-4").train_power_w
    6.3
    >>> get_device("pi")
    Traceback (most recent call last):
    ...
    orbitlearn.errors.InputError: Expected `device` to be one of 'jetson-orin-nano-7w', 'jetson-orin-nano-15w', 'jetson-orin-nano-25w', 'raspberry-pi-4', 'rad-hard-cpu', actual: 'pi'
    """
    if isinstance(device, DeviceProfile):
        return device
    if isinstance(device, str) and device in DEVICE_PRESETS:
        return DEVICE_PRESETS[device]
    allowed = ", ".join(repr(n) for n in DEVICE_PRESETS)
    raise InputError("device", device, f"one of {allowed}")
