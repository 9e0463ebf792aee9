"""orbitlearn.onboard: the flight runtime - budgeted, resumable, self-healing training.

Public API:

* :class:`OnboardTrainer`, :class:`SliceResult`, :class:`FaultSource` - training in slices
  bounded by steps, simulated seconds and joules; resets; ``state_dict()`` round trips.
* :class:`ResumableBatches`, :class:`BatchStream` - the data contract and its resumable position.
* :class:`DeviceProfile`, :data:`DEVICE_PRESETS`, :func:`get_device` - power per mode, sustained
  FLOP/s, memory (Jetson Orin Nano 7/15/25 W, Raspberry Pi 4, a RAD750-class CPU).
* :func:`count_step_flops`, :class:`FlopCache`, :class:`StepFlops` - counted step FLOPs.
* :class:`Budget`, :class:`BudgetMeter` - slice limits.
"""

from __future__ import annotations

from orbitlearn.onboard.budget import Budget, BudgetMeter
from orbitlearn.onboard.data import BatchStream, ResumableBatches
from orbitlearn.onboard.device import DEVICE_PRESETS, DeviceProfile, get_device
from orbitlearn.onboard.flops import FlopCache, StepFlops, count_step_flops
from orbitlearn.onboard.trainer import FaultSource, OnboardTrainer, SliceResult

__all__ = [
    "DEVICE_PRESETS",
    "BatchStream",
    "Budget",
    "BudgetMeter",
    "DeviceProfile",
    "FaultSource",
    "FlopCache",
    "OnboardTrainer",
    "ResumableBatches",
    "SliceResult",
    "StepFlops",
    "count_step_flops",
    "get_device",
]
