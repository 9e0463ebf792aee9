"""Radiation faults in training: bit flips in any tensor, driven by rates or schedules, logged.

- :mod:`~orbitlearn.faults.bitflip`: flip / force bits in place through integer views, by dtype.
- :mod:`~orbitlearn.faults.targets`: the tensors that can be hit (weights, grads, optimizer state).
- :mod:`~orbitlearn.faults.sampling`: Poisson counts and uniform placement over exposed bits.
- :mod:`~orbitlearn.faults.rates`: reference upset rates and unit conversions.
- :mod:`~orbitlearn.faults.schedule`: exactly N upsets spread over training steps.
- :mod:`~orbitlearn.faults.activations`: out-of-place, autograd-safe corruption of layer outputs.
- :mod:`~orbitlearn.faults.injector`: :class:`FaultInjector`, the object a training loop drives.
- :mod:`~orbitlearn.faults.events`: :class:`FaultEvent` (the log) and :class:`DeviceReset`.
- :mod:`~orbitlearn.faults.outcomes`: classify a faulty run against the fault-free one
  (He et al., ISCA 2023).
"""

from __future__ import annotations

from orbitlearn.faults.bitflip import (
    FlipResult,
    FloatLayout,
    bit_positions,
    bit_width,
    exponent_bit_positions,
    flip_bits,
    float_layout,
    force_bits,
    mantissa_bit_positions,
    resolve_bit_positions,
    sign_bit_position,
)
from orbitlearn.faults.events import EVENT_KINDS, EVENT_TARGETS, DeviceReset, FaultEvent, count_by
from orbitlearn.faults.injector import FaultInjector, InjectorNotBoundError, StuckBit
from orbitlearn.faults.outcomes import (
    OUTCOME_CLASSES,
    Outcome,
    OutcomeReport,
    OutcomeThresholds,
    classify_outcome,
    first_nonfinite_step,
    tally_outcomes,
)
from orbitlearn.faults.rates import (
    LEO_SRAM_MBU_FRACTION,
    LEO_SRAM_UPSETS_PER_BIT_DAY,
    LEO_SRAM_UPSETS_PER_BIT_S,
    accelerated_rate,
    acceleration_for_upsets,
    expected_upsets,
    per_bit_day_to_per_bit_s,
    per_bit_s_to_per_bit_day,
    rate_for_upsets,
)
from orbitlearn.faults.schedule import FaultSchedule
from orbitlearn.faults.targets import TARGET_NAMES, TargetTensor, collect_targets

__all__ = [
    "EVENT_KINDS",
    "EVENT_TARGETS",
    "LEO_SRAM_MBU_FRACTION",
    "LEO_SRAM_UPSETS_PER_BIT_DAY",
    "LEO_SRAM_UPSETS_PER_BIT_S",
    "OUTCOME_CLASSES",
    "TARGET_NAMES",
    "DeviceReset",
    "FaultEvent",
    "FaultInjector",
    "FaultSchedule",
    "FlipResult",
    "FloatLayout",
    "InjectorNotBoundError",
    "Outcome",
    "OutcomeReport",
    "OutcomeThresholds",
    "StuckBit",
    "TargetTensor",
    "accelerated_rate",
    "acceleration_for_upsets",
    "bit_positions",
    "bit_width",
    "classify_outcome",
    "collect_targets",
    "count_by",
    "expected_upsets",
    "exponent_bit_positions",
    "first_nonfinite_step",
    "flip_bits",
    "float_layout",
    "force_bits",
    "mantissa_bit_positions",
    "per_bit_day_to_per_bit_s",
    "per_bit_s_to_per_bit_day",
    "rate_for_upsets",
    "resolve_bit_positions",
    "sign_bit_position",
    "tally_outcomes",
]
