"""Healing policies: what each detects, how it repairs, what it costs.

=============  ================================  ===============================  ==========================
policy         detects                           repairs                          costs (measured: bench/)
=============  ================================  ===============================  ==========================
``none``       nothing                           nothing                          nothing (1.00x)
``detect``     non-finite loss and gradient      nothing: counts and logs only    a gradient-norm pass per
               norm; loss and gradient-norm                                       step, a state range scan
               spikes (median/MAD of their                                        every 50 steps
               logarithms: orders of magnitude,
               not a heavy-tailed batch); state
               range scan every 50 steps
               (NaN/inf, exponent range)
``standard``   as ``detect``                     re-execute the step (RNG and     as ``detect``, plus a
                                                 buffers restored, so a true      snapshot copy of the
                                                 outlier reproduces bit for bit   state every 50 steps;
                                                 and is accepted); skip the       target <= 1.05x a plain
                                                 batch after 3 failed             PyTorch step
                                                 executions; roll back to the
                                                 in-memory snapshot after 3
                                                 skips, 3 reproduced spikes, or
                                                 a bad state scan
``full``       ``standard`` plus: every bit      ``standard`` plus restore of     +1x state and +1x gradient
               flip in parameters, buffers and   the corrupted block from the     memory (copies); per step
               optimizer state, whenever it      protected copy (bit-identical);  a copy and a compare of
               lands (bitwise compare with a     re-execution when the forward    the state and of the
               protected copy: buffers at the    read an upset parameter, and     gradients, an ``aminmax``
               start of a step, parameters and   for activation faults            per layer output
               optimizer state before the
               update, all after the update
               when an ``after_update``
               callback ran); every flip in a
               gradient between backward and
               the update (copy); layer outputs
               and inputs outside their learned
               ranges (Ranger-style)
``dmr``        every gradient bit that differs   a third execution and a vote;    2x compute, +1x state
               between two executions; every     a state mismatch where one copy  memory
               state bit that differs from its   holds NaN/inf or an out-of-
               replica (checked as ``full``      range value is repaired from
               checks its copy)                  the other, else roll back
``tmr``        every bit that differs between    bitwise majority vote of three   3x compute, +2x state
               three executions (gradients) or   executions and of the three      memory (the 200 % figure
               three state replicas              state copies                     of TMR in He et al. 2023)
=============  ================================  ===============================  ==========================

What ``full`` guarantees: radiation may upset the live weights, buffers and optimizer state at
any time - between steps, between training slices, during forward/backward or after the update
(where a fault injector's ``after_update`` callback applies them). The protected copy is
refreshed right after each update and compared before every later use: buffers at the start of
the next step, parameters and optimizer state before the next update (a step whose forward read
an upset parameter is re-executed from the restored value), and everything after
``after_update``. So *every* changed bit - mantissa, exponent or sign, NaN and inf included - is
detected and restored bit-identically before it can enter an update. The one gap: an upset in a
buffer *during* a forward pass that rewrites it (BatchNorm running statistics) is blended in.
Gradient upsets between backward and the update are caught and restored the same way, from a
copy of the gradients taken right after backward. Activation and input upsets are caught when
they leave the learned range (a flip of fp32 bit 30 in a value below 2 in magnitude always does)
and the step is re-executed; a flip that keeps a value inside the range of its layer is not
detected and perturbs one step like noise.

What ``detect`` and ``standard`` guarantee, and where they stop: every step, a non-finite loss
or gradient (NaN/inf anywhere in the gradients makes the total norm non-finite) is caught
before the update, and so is a loss or gradient norm that jumps far beyond the spread of its
recent values (an exponent-bit flip in an activation or gradient typically multiplies it by
``2**32`` to ``2**128``; :class:`~orbitlearn.healing.detectors.SpikeDetector` judges on a log
scale, so batches that are merely hard - a rare class, a non-IID shard - are not flagged, and
a finite upset that moves the loss or norm no more than such batches do goes through like
one). Upsets in the weights and optimizer state are caught by the range scan at most
``scan_every_steps`` (50) steps after they land, if they left the learned exponent range or
made a value non-finite, and repaired by rolling back to the snapshot (at most 50 steps of
work lost); a non-finite weight shows as a non-finite loss in the next step already (a
non-finite optimizer moment one update later). Flips that keep
a value in range are not detected by these two policies (``full`` catches every bit). A
detection that a re-execution reproduces bit for bit is recorded as a false alarm and the
step is accepted.

Use :func:`resolve_policy` to get a policy by name with overrides.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from orbitlearn.errors import InputError

__all__ = ["POLICIES", "HealingPolicy", "resolve_policy"]


@dataclass(frozen=True)
class HealingPolicy:
    """The switches and tunables of a healing policy (see the module table).

    Attributes:
        name: the policy's name.
        repair: whether anomalies are repaired (False: detect and log only).
        check_loss: flag a non-finite loss.
        check_grad_norm: flag a non-finite total gradient norm (computes the norm each step).
        spikes: flag loss and gradient-norm spikes (robust running statistics).
        scan_every_steps: state range scan period in steps (0: never).
        protect_state: protected copy of parameters, buffers and optimizer state.
        protect_grads: protected copy of the gradients between backward and the update.
        protect_method: how the state copy detects: ``"compare"`` or ``"checksum"`` (see
            :mod:`~orbitlearn.healing.protected`).
        activation_guard: Ranger-style range restriction of layer outputs and the input.
        activation_mode: ``"detect"`` (re-execute on a violation) or ``"clamp"``.
        activation_in_eval: the activation guard also observes (and clamps) forward passes in
            eval mode (default: only training passes; evaluation is left alone).
        executions: forward/backward executions per step (2: DMR, 3: TMR).
        state_replicas: replicas of the state (1: DMR, 2: TMR).
        snapshot_every_steps: in-memory rollback snapshot period (0: none).
        max_executions: executions allowed per step including re-executions.
        skip_limit: consecutive skipped batches before a rollback.
        persistent_limit: consecutive steps with a reproduced anomaly before a rollback.
        spike_window, spike_warmup, spike_threshold_mads, spike_min_ratio: see
            :class:`~orbitlearn.healing.detectors.SpikeDetector`.
        activation_margin, activation_warmup: see
            :class:`~orbitlearn.healing.detectors.ActivationRangeGuard`.
        exponent_slack_binades: see :class:`~orbitlearn.healing.detectors.StateRangeCheck`.
    """

    name: str
    repair: bool = True
    check_loss: bool = True
    check_grad_norm: bool = True
    spikes: bool = True
    scan_every_steps: int = 50
    protect_state: bool = False
    protect_grads: bool = False
    protect_method: str = "compare"
    activation_guard: bool = False
    activation_mode: str = "detect"
    activation_in_eval: bool = False
    executions: int = 1
    state_replicas: int = 0
    snapshot_every_steps: int = 50
    max_executions: int = 3
    skip_limit: int = 3
    persistent_limit: int = 3
    spike_window: int = 64
    spike_warmup: int = 16
    spike_threshold_mads: float = 8.0
    spike_min_ratio: float = 10.0
    activation_margin: float = 1.0
    activation_warmup: int = 8
    exponent_slack_binades: int = 10

    def __post_init__(self) -> None:
        def need(field: str, ok: bool, allowed: str) -> None:
            if not ok:
                raise InputError(field, getattr(self, field), allowed)

        need("executions", self.executions in (1, 2, 3), "1, 2 (DMR) or 3 (TMR)")
        need("state_replicas", self.state_replicas in (0, 1, 2), "0, 1 (DMR) or 2 (TMR)")
        need(
            "protect_method",
            self.protect_method in ("compare", "checksum"),
            "'compare' or 'checksum'",
        )
        need("activation_mode", self.activation_mode in ("detect", "clamp"), "'detect' or 'clamp'")
        for field in ("scan_every_steps", "snapshot_every_steps"):
            value = getattr(self, field)
            need(field, isinstance(value, int) and value >= 0, "an integer >= 0 (0: never)")
        for field in ("max_executions", "skip_limit", "persistent_limit", "activation_warmup"):
            value = getattr(self, field)
            need(field, isinstance(value, int) and value >= 1, "an integer >= 1")
        need(
            "max_executions",
            self.max_executions >= self.executions,
            f"an integer >= executions ({self.executions})",
        )

    @property
    def active(self) -> bool:
        """Whether the policy does anything at all (False only for ``none``)."""
        return any(
            (
                self.check_loss,
                self.check_grad_norm,
                self.spikes,
                self.scan_every_steps,
                self.protect_state,
                self.protect_grads,
                self.activation_guard,
                self.executions > 1,
                self.state_replicas,
            )
        )


POLICIES: dict[str, HealingPolicy] = {
    "none": HealingPolicy(
        "none",
        repair=False,
        check_loss=False,
        check_grad_norm=False,
        spikes=False,
        scan_every_steps=0,
        snapshot_every_steps=0,
        max_executions=1,
    ),
    "detect": HealingPolicy("detect", repair=False, snapshot_every_steps=0, max_executions=1),
    "standard": HealingPolicy("standard"),
    "full": HealingPolicy("full", protect_state=True, protect_grads=True, activation_guard=True),
    # room for one redundant re-execution when a parameter upset since the last step is found
    # before the update (the executions read it)
    "dmr": HealingPolicy("dmr", spikes=False, executions=2, state_replicas=1, max_executions=6),
    "tmr": HealingPolicy(
        "tmr",
        spikes=False,
        scan_every_steps=0,
        executions=3,
        state_replicas=2,
        snapshot_every_steps=0,
        max_executions=6,
    ),
}


def resolve_policy(
    policy: str | HealingPolicy, overrides: dict[str, Any] | None = None
) -> HealingPolicy:
    """A policy by name (or as given) with field overrides applied.

    Raises:
        InputError: for an unknown name, an unknown field or an invalid value.

    >>> resolve_policy("standard", {"scan_every_steps": 5}).scan_every_steps
    5
    >>> resolve_policy("fulll")
    Traceback (most recent call last):
    ...
    orbitlearn.errors.InputError: Expected `healing` to be one of 'none', 'detect', 'standard', 'full', 'dmr', 'tmr', actual: 'fulll'
    """
    if isinstance(policy, HealingPolicy):
        base = policy
    elif isinstance(policy, str) and policy in POLICIES:
        base = POLICIES[policy]
    else:
        allowed = ", ".join(repr(name) for name in POLICIES)
        raise InputError("healing", policy, f"one of {allowed}")
    if not overrides:
        return base
    fields = {f.name for f in dataclasses.fields(HealingPolicy)} - {"name"}
    for key in overrides:
        if key not in fields:
            raise InputError("healing option", key, f"one of {', '.join(sorted(fields))}")
    return dataclasses.replace(base, **overrides)
