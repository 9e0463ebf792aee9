"""The record of one fault, and the device reset a functional interrupt causes.

Every upset the injector applies is logged as a :class:`FaultEvent`. A *functional interrupt*
(SEFI: single-event functional interrupt, a latch-up or watchdog reset) is not a bit flip: the
processor resets and loses everything held in volatile memory. The injector draws it
(:meth:`~orbitlearn.faults.FaultInjector.reset_due`) and the training runtime reacts; a runtime
that unwinds by exception raises :class:`DeviceReset`.

How a trainer reacts to a reset (implemented in ``orbitlearn.onboard``):

1. Stop the current step at once; the step's result is lost.
2. Drop every in-memory object that models volatile state: model parameters, optimizer state,
   gradients, activations, the data iterator position, healing's protected copies.
3. Reload model, optimizer, data position and healing state from the newest checkpoint that
   verifies; work since that checkpoint is lost (training time still elapsed).
4. Leave the fault injector alone: it models the environment, not the device, so its random
   state, rates and stuck-bit registry survive the reset (stuck bits are damage to the hardware:
   they come back on the reloaded values at the next step).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from orbitlearn.errors import OrbitlearnError

__all__ = [
    "EVENT_KINDS",
    "EVENT_TARGETS",
    "DeviceReset",
    "FaultEvent",
    "count_by",
]

#: Kinds of fault: single-event upset (one bit), multi-bit upset (adjacent bits of one word),
#: a stuck-at bit taking effect, a functional interrupt (device reset), a compute error in a
#: layer's output.
EVENT_KINDS = ("seu", "mbu", "stuck", "reset", "compute")
#: Where a fault lands. ``buffers`` are a module's non-parameter state (BatchNorm running
#: statistics); ``compute`` also names resets, which hit the processor rather than a tensor.
EVENT_TARGETS = ("weights", "grads", "optimizer", "activations", "inputs", "compute", "buffers")


@dataclass(frozen=True)
class FaultEvent:
    """One fault, as logged.

    Attributes:
        time_s: mission/training time of the upset, seconds.
        step: training step it was applied at (-1 if none).
        kind: one of :data:`EVENT_KINDS`.
        target: one of :data:`EVENT_TARGETS`.
        tensor: the tensor's name, e.g. ``"layers.0.weight"``,
            ``"optimizer.state.layers.0.weight.exp_avg"``, ``"layers.0.weight.grad"``,
            ``"activation:layers.1"``, ``"compute:layers.1"``, ``"input"``; ``"device"`` for
            a reset.
        flat_index: element's index in the tensor's logical row-major order (-1 for resets).
        bit: lowest bit position upset (0 = LSB; -1 for resets).
        old_value: element value before the upset (NaN for resets).
        new_value: element value after the upset (NaN for resets).
        dtype: the tensor's dtype, e.g. ``"float32"`` (``""`` for resets).
        n_bits: number of adjacent bits upset, ``bit .. bit + n_bits - 1`` (2+ for an MBU; 0 for
            resets).
        old_bits, new_bits: the element's raw bit pattern before and after (an unsigned
            integer of the dtype's width), or None where not logged (resets, older records).
            ``old_value``/``new_value`` are widened to float64 for reading, which keeps
            ``-0.0`` and NaN payloads apart but turns a float32 signalling NaN into a quiet one.

    >>> e = FaultEvent(1.5, 3, "seu", "weights", "fc.weight", 7, 30, 0.5, 1.7e38, "float32")
    >>> e.to_dict()["tensor"], e.changed
    ('fc.weight', True)
    """

    time_s: float
    step: int
    kind: str
    target: str
    tensor: str
    flat_index: int
    bit: int
    old_value: float
    new_value: float
    dtype: str
    n_bits: int = 1
    old_bits: int | None = None
    new_bits: int | None = None

    @property
    def changed(self) -> bool:
        """Whether the stored bits changed (a stuck bit that already held changes nothing).

        Compares bit patterns, never float values: ``0.0 -> -0.0`` is a change, and so is a
        NaN whose payload changed. Uses the raw bits where logged, else the float64 patterns
        of the logged values.
        """
        if self.kind == "reset":
            return True
        if self.old_bits is not None and self.new_bits is not None:
            return self.old_bits != self.new_bits
        return _f64_bits(self.old_value) != _f64_bits(self.new_value)

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-friendly dict (non-finite values stay floats)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> FaultEvent:
        """Rebuild an event written by :meth:`to_dict`."""
        return cls(**record)


def _f64_bits(value: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", value))[0])


def count_by(events: Iterable[FaultEvent], field: str) -> dict[str, int]:
    """Count events by one of their fields (``"kind"``, ``"target"``, ``"tensor"``...).

    >>> ev = [FaultEvent(0.0, 0, k, "weights", "w", 0, 1, 0.0, 1.0, "float32") for k in ("seu", "mbu", "seu")]
    >>> count_by(ev, "kind")
    {'seu': 2, 'mbu': 1}
    """
    counts: dict[str, int] = {}
    for event in events:
        key = str(getattr(event, field))
        counts[key] = counts.get(key, 0) + 1
    return counts


class DeviceReset(OrbitlearnError):
    """A functional interrupt: the device reset and lost all volatile state.

    Raised by a runtime (or :meth:`~orbitlearn.faults.FaultInjector.raise_if_reset`) to unwind
    the current training step; the handler reloads the last good checkpoint (see the module
    docstring). Carries the logged :class:`FaultEvent`.
    """

    def __init__(self, event: FaultEvent) -> None:
        self.event = event
        super().__init__(
            f"device reset (functional interrupt) at t = {event.time_s:.3f} s, step {event.step}: "
            "state not checkpointed is lost"
        )
