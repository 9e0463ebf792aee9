"""orbitlearn.healing: self-healing training.

Detectors find silent data corruption in a training step; repairs put the state back; policies
bundle them with a stated cost (table in :mod:`orbitlearn.healing.policies`); checkpoints make
progress survive a reset.

Public API:

* :class:`Healing` - wraps one optimizer step of any training loop (``healing.step(compute)``).
* :data:`POLICIES`, :class:`HealingPolicy`, :func:`resolve_policy` - ``none``, ``detect``,
  ``standard``, ``full``, ``dmr``, ``tmr``.
* :class:`HealingReport`, :class:`StepOutcome`, :class:`Detection`, :class:`Repair` - what was
  found and done.
* Detectors: :class:`SpikeDetector`, :class:`StateRangeCheck`, :class:`ActivationRangeGuard`,
  :class:`ProtectedCopy`; redundancy: :class:`StateReplicas`, :func:`vote_tensors`,
  :func:`break_tie`;
  repair: :class:`StateSnapshot`.
* Checkpoints: :class:`CheckpointStore`, :class:`CheckpointInfo`, :class:`LoadedCheckpoint`,
  :func:`atomic_write_bytes`.
* Bits: :func:`int_view`, :func:`bitwise_equal`, :func:`bitwise_majority`; blocks:
  :func:`state_blocks`.
"""

from __future__ import annotations

from orbitlearn.healing.bits import bitwise_equal, bitwise_majority, int_view
from orbitlearn.healing.blocks import state_blocks
from orbitlearn.healing.checkpoint import (
    CheckpointInfo,
    CheckpointStore,
    LoadedCheckpoint,
    atomic_write_bytes,
)
from orbitlearn.healing.detectors import ActivationRangeGuard, SpikeDetector, StateRangeCheck
from orbitlearn.healing.healer import Healing
from orbitlearn.healing.policies import POLICIES, HealingPolicy, resolve_policy
from orbitlearn.healing.protected import ProtectedCopy
from orbitlearn.healing.redundancy import StateReplicas, break_tie, vote_tensors
from orbitlearn.healing.repairs import StateSnapshot
from orbitlearn.healing.report import Detection, HealingReport, Repair, StepOutcome

__all__ = [
    "POLICIES",
    "ActivationRangeGuard",
    "CheckpointInfo",
    "CheckpointStore",
    "Detection",
    "Healing",
    "HealingPolicy",
    "HealingReport",
    "LoadedCheckpoint",
    "ProtectedCopy",
    "Repair",
    "SpikeDetector",
    "StateRangeCheck",
    "StateReplicas",
    "StateSnapshot",
    "StepOutcome",
    "atomic_write_bytes",
    "bitwise_equal",
    "bitwise_majority",
    "break_tie",
    "int_view",
    "resolve_policy",
    "state_blocks",
    "vote_tensors",
]
