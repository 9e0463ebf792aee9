"""The fault injector a training loop drives, step by step.

A training runtime tells the injector where it is in a step; the injector draws the upsets that
radiation causes in that phase, applies them, and logs each as a :class:`FaultEvent`::

    injector = FaultInjector(["weights", "optimizer", "activations"], rate_per_bit_s=1e-9, seed=0)
    injector.bind(model, optimizer)                  # hooks forward passes if activations are hit
    for step, (x, y) in enumerate(batches):
        x = injector.corrupt_batch(x, step=step, time_s=t)       # input buffer upsets (a copy)
        loss = loss_fn(model(x), y)                              # activation/compute upsets
        loss.backward()
        injector.after_backward(step=step, time_s=t, duration_s=dt_bwd)  # gradient upsets
        optimizer.step(); optimizer.zero_grad()
        injector.after_step(step=step, time_s=t, duration_s=dt)  # weights/optimizer + stuck bits
        if injector.reset_due(time_s=t, duration_s=dt):          # functional interrupt
            ...                                                  # reload the last checkpoint

Two ways to say how many upsets happen:

- **rates** (``rate_per_bit_s``, changed over a mission with :meth:`FaultInjector.set_rates`):
  each phase draws a Poisson count with mean ``rate_per_bit_s x exposed bits x exposure`` and
  places the upsets uniformly over the exposed bits (see :mod:`orbitlearn.faults.sampling`).
  Exposure is ``duration_s`` given to ``after_backward``/``after_step``; inputs and activations
  are exposed for the ``duration_s`` given to ``corrupt_batch``, or else the last step's. State
  that sits in memory while nothing trains (between training slices) is exposed with
  :meth:`FaultInjector.expose_idle`.
- **a schedule** (:class:`FaultSchedule`): exactly ``counts_per_step[s]`` upsets at step ``s``.
  At the first call for a step, its upsets are split between the step's phases (input batch,
  each hooked layer output, gradients, weights/optimizer state) in proportion to the bits each
  exposes, using the layer-output sizes seen in the latest training forward pass (none before
  the first: step 0's activations are not hit). Upsets a phase could not apply (it has no bits,
  or it did not run) carry over to the next step, so every scheduled upset is applied unless
  training ends first (:attr:`FaultInjector.pending`).

Forward hooks act only while the hooked module is in training mode (set
``activations_in_eval=True`` to hit evaluation too), and never change a tensor they were given
(see :mod:`orbitlearn.faults.activations`); a module whose output is not a single tensor
(the tuple of an RNN) is not hit. :meth:`FaultInjector.corrupt_batch` returns a corrupted copy
and never touches the caller's batch; integer batches (token ids) are hit too, and a flipped
id can fall outside an embedding table as it would on hardware (leave ``inputs`` out or narrow
``bit_mask`` if that is not wanted).

Stuck-at bits (``stuck_bits`` placed at random at the first ``after_step``, or added with
:meth:`FaultInjector.add_stuck_bit`) are permanent damage in weights, optimizer state or buffers:
they are forced again at the end of every ``after_step`` (values written during a step are
corrected at its end, so the next forward pass reads the stuck value), and every time that
changes a value it is logged as a ``"stuck"`` event.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from orbitlearn.errors import InputError, OrbitlearnError
from orbitlearn.faults.activations import (
    compute_module_names,
    corrupted_copy,
    leaf_module_names,
    resolve_modules,
)
from orbitlearn.faults.bitflip import (
    BitMaskSpec,
    FlipResult,
    bit_width,
    flip_bits,
    force_bits,
    resolve_bit_positions,
    supported_dtypes,
)
from orbitlearn.faults.events import DeviceReset, FaultEvent
from orbitlearn.faults.rates import LEO_SRAM_MBU_FRACTION
from orbitlearn.faults.sampling import make_rng, poisson_count, poisson_occurs, sample_sites
from orbitlearn.faults.schedule import FaultSchedule
from orbitlearn.faults.targets import (
    STATE_TARGETS,
    TargetTensor,
    collect_targets,
    exposed_bits,
    validate_targets,
)

__all__ = ["FaultInjector", "InjectorNotBoundError", "StuckBit"]

_STATE_VERSION = 1
_SUPPORTED = frozenset(supported_dtypes())
# Phase keys of a scheduled step's plan; hooked outputs are ("activations" | "compute", module).
_INPUTS = ("inputs", "")
_GRADS = ("grads", "")
_STATE = ("state", "")


class InjectorNotBoundError(OrbitlearnError, RuntimeError):
    """A phase that needs the model was called before :meth:`FaultInjector.bind`."""


@dataclass(frozen=True)
class StuckBit:
    """A permanently stuck bit: ``tensor``'s element ``flat_index``, bit ``bit``, held at ``value``."""

    tensor: str
    flat_index: int
    bit: int
    value: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "tensor": self.tensor,
            "flat_index": self.flat_index,
            "bit": self.bit,
            "value": self.value,
        }


def _finite_non_negative(field: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(field, value, "a finite number >= 0")
    if value < 0:
        raise InputError(field, value, "a finite number >= 0")
    return float(value)


def _check_step(step: int) -> int:
    if isinstance(step, bool) or not isinstance(step, int | np.integer) or step < 0:
        raise InputError("step", step, "an integer >= 0")
    return int(step)


def _check_time(time_s: float) -> float:
    if isinstance(time_s, bool) or not isinstance(time_s, int | float) or not math.isfinite(time_s):
        raise InputError("time_s", time_s, "a finite number of seconds")
    return float(time_s)


class FaultInjector:
    """Injects radiation faults into a training loop and logs them.

    Args:
        targets: what can be hit: ``weights``, ``grads``, ``optimizer``, ``buffers``,
            ``activations``, ``inputs``, ``compute`` (a list or a comma-separated string).
        rate_per_bit_s: memory upsets per bit per second (weights, gradients, optimizer state,
            buffers, inputs, activations). See :mod:`orbitlearn.faults.rates` for reference rates.
        multi_bit_fraction: share of upsets that hit 2..``max_mbu_bits`` adjacent bits of one
            word (default: 1.2 %, Alsat-1's SRAM).
        reset_rate_per_s: functional interrupts (device resets) per second.
        stuck_bits: stuck-at bits placed at random over the targeted state tensors at the first
            ``after_step`` (each stuck at 0 or 1 with equal probability).
        bit_mask: which bit positions can be hit (:data:`~orbitlearn.faults.bitflip.BitMaskSpec`,
            e.g. ``"exponent"``); exposure counts only those bits.
        seed: seed of the injector's own random generator (or a ``numpy.random.Generator``).
        schedule: exact upsets per step instead of (in addition to nothing from) rates: when
            given, ``rate_per_bit_s`` is not used for bit upsets.
        max_mbu_bits: widest multi-bit upset.
        compute_error_rate_per_element: probability, per output element of a hooked layer per
            training forward pass, of a compute error (one bit of that output flipped).
        activation_modules: qualified names of the modules whose outputs are hit; default: every
            leaf module for ``activations``, every leaf module with parameters for ``compute``.
        activations_in_eval: hit forward passes of modules in eval mode too.
        include_step_counters: also expose optimizer ``step`` counters.

    Raises:
        InputError: an argument outside what is allowed (the message names it).
    """

    def __init__(
        self,
        targets: Sequence[str] | str = ("weights", "optimizer"),
        *,
        rate_per_bit_s: float = 0.0,
        multi_bit_fraction: float = LEO_SRAM_MBU_FRACTION,
        reset_rate_per_s: float = 0.0,
        stuck_bits: int = 0,
        bit_mask: BitMaskSpec = None,
        seed: int | np.random.Generator | None = None,
        schedule: FaultSchedule | None = None,
        max_mbu_bits: int = 2,
        compute_error_rate_per_element: float = 0.0,
        activation_modules: Sequence[str] | None = None,
        activations_in_eval: bool = False,
        include_step_counters: bool = False,
    ) -> None:
        self.targets = validate_targets(targets)
        self.rate_per_bit_s = _finite_non_negative("rate_per_bit_s", rate_per_bit_s)
        self.reset_rate_per_s = _finite_non_negative("reset_rate_per_s", reset_rate_per_s)
        self.compute_error_rate_per_element = _finite_non_negative(
            "compute_error_rate_per_element", compute_error_rate_per_element
        )
        if not (isinstance(multi_bit_fraction, int | float) and 0.0 <= multi_bit_fraction <= 1.0):
            raise InputError("multi_bit_fraction", multi_bit_fraction, "a number in [0, 1]")
        self.multi_bit_fraction = float(multi_bit_fraction)
        if isinstance(max_mbu_bits, bool) or not isinstance(max_mbu_bits, int) or max_mbu_bits < 2:
            raise InputError("max_mbu_bits", max_mbu_bits, "an integer >= 2")
        self.max_mbu_bits = max_mbu_bits
        if isinstance(stuck_bits, bool) or not isinstance(stuck_bits, int) or stuck_bits < 0:
            raise InputError("stuck_bits", stuck_bits, "an integer >= 0")
        self._state_targets = tuple(t for t in self.targets if t in STATE_TARGETS)
        if stuck_bits and not self._state_targets:
            raise InputError(
                "stuck_bits",
                stuck_bits,
                "0 unless targets include weights, optimizer or buffers (stuck bits live in state)",
            )
        self.stuck_bits = stuck_bits
        for dtype in (torch.float32, torch.int8):
            resolve_bit_positions(dtype, bit_mask)  # validates the mask early
        self.bit_mask = bit_mask
        if schedule is not None and not isinstance(schedule, FaultSchedule):
            raise InputError("schedule", schedule, "a FaultSchedule or None")
        self.schedule = schedule
        self.activation_modules = None if activation_modules is None else list(activation_modules)
        self.activations_in_eval = bool(activations_in_eval)
        self.include_step_counters = bool(include_step_counters)
        self._rng = make_rng(seed)

        self.events: list[FaultEvent] = []
        self._model: nn.Module | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._handles: list[RemovableHandle] = []
        self._state_cache: tuple[tuple[int, ...], list[TargetTensor]] | None = None
        self._stuck: list[StuckBit] = []
        self._stuck_placed = stuck_bits == 0
        self._step = -1
        self._time_s = 0.0
        self._forward_exposure_s: float | None = None
        self._last_duration_s = 0.0
        self._planned_step: int | None = None
        self._plan: dict[tuple[str, str], int] = {}
        self._carry = 0
        self._cursor = 0
        self._census: dict[tuple[str, str], int] = {}
        self._counters: dict[str, int] = {"resets": 0, "stuck_changes": 0}

    # ------------------------------------------------------------------ binding

    def bind(self, model: nn.Module, optimizer: torch.optim.Optimizer | None) -> None:
        """Attach to a model and its optimizer; registers forward hooks if layer outputs are hit.

        Binding again (e.g. after a reset rebuilt the optimizer) replaces the previous binding.

        Raises:
            InputError: ``activation_modules`` names a module the model does not have.
        """
        self.unbind()
        self._model = model
        self._optimizer = optimizer
        hooked: dict[str, list[str]] = {}
        if "activations" in self.targets:
            names = self.activation_modules or leaf_module_names(model)
            for name in names:
                hooked.setdefault(name, []).append("activations")
        if "compute" in self.targets:
            names = self.activation_modules or compute_module_names(model)
            for name in names:
                hooked.setdefault(name, []).append("compute")
        for name, module in resolve_modules(model, list(hooked)):
            handle = module.register_forward_hook(self._make_hook(name, tuple(hooked[name])))
            self._handles.append(handle)

    def unbind(self) -> None:
        """Remove the forward hooks and forget the model and optimizer."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._model = None
        self._optimizer = None
        self._state_cache = None

    def _require_model(self, phase: str) -> nn.Module:
        if self._model is None:
            raise InjectorNotBoundError(
                f"FaultInjector.{phase} needs a model: call bind(model, optimizer) first"
            )
        return self._model

    # ------------------------------------------------------------------ rates

    def set_rates(
        self,
        *,
        rate_per_bit_s: float,
        reset_rate_per_s: float | None = None,
        compute_error_rate_per_element: float | None = None,
    ) -> None:
        """Change rates from now on (the mission follows the timeline: SAA passes, storms)."""
        self.rate_per_bit_s = _finite_non_negative("rate_per_bit_s", rate_per_bit_s)
        if reset_rate_per_s is not None:
            self.reset_rate_per_s = _finite_non_negative("reset_rate_per_s", reset_rate_per_s)
        if compute_error_rate_per_element is not None:
            self.compute_error_rate_per_element = _finite_non_negative(
                "compute_error_rate_per_element", compute_error_rate_per_element
            )

    # ------------------------------------------------------------------ helpers

    def _enter_step(self, step: int, time_s: float) -> None:
        self._step = _check_step(step)
        self._time_s = _check_time(time_s)

    def _positions(self, dtype: torch.dtype) -> tuple[int, ...]:
        return resolve_bit_positions(dtype, self.bit_mask)

    def _log(
        self,
        result: FlipResult,
        *,
        kind: str | None,
        target: str,
        tensor_name: str,
        dtype: torch.dtype,
        bits: np.ndarray,
        n_bits: np.ndarray,
        step: int,
        time_s: float,
    ) -> list[FaultEvent]:
        dtype_name = str(dtype).removeprefix("torch.")
        no_bits = [None] * len(result.flat_index)
        old_bits = no_bits if result.old_bits is None else result.old_bits.tolist()
        new_bits = no_bits if result.new_bits is None else result.new_bits.tolist()
        events = [
            FaultEvent(
                time_s=time_s,
                step=step,
                kind=kind if kind is not None else ("mbu" if int(nb) > 1 else "seu"),
                target=target,
                tensor=tensor_name,
                flat_index=int(index),
                bit=int(bit),
                old_value=float(old),
                new_value=float(new),
                dtype=dtype_name,
                n_bits=int(nb),
                old_bits=old_raw,
                new_bits=new_raw,
            )
            for index, bit, nb, old, new, old_raw, new_raw in zip(
                result.flat_index,
                bits,
                n_bits,
                result.old_values,
                result.new_values,
                old_bits,
                new_bits,
                strict=True,
            )
        ]
        self.events.extend(events)
        return events

    def _upset_tensors(
        self, candidates: Sequence[TargetTensor], n_upsets: int, *, kind: str | None = None
    ) -> list[FaultEvent]:
        """Place ``n_upsets`` uniformly over the candidates' exposed bits and apply them."""
        if n_upsets == 0:
            return []
        sites = sample_sites(
            [t.numel for t in candidates],
            [t.positions for t in candidates],
            [bit_width(t.tensor.dtype) for t in candidates],
            n_upsets,
            self._rng,
            multi_bit_fraction=self.multi_bit_fraction,
            max_mbu_bits=self.max_mbu_bits,
        )
        events: list[FaultEvent] = []
        for i in np.unique(sites.tensor_index):
            chosen = sites.tensor_index == i
            target = candidates[int(i)]
            result = flip_bits(
                target.tensor,
                sites.flat_index[chosen],
                sites.bit[chosen],
                n_bits=sites.n_bits[chosen],
            )
            events += self._log(
                result,
                kind=kind,
                target=target.target,
                tensor_name=target.name,
                dtype=target.tensor.dtype,
                bits=sites.bit[chosen],
                n_bits=sites.n_bits[chosen],
                step=self._step,
                time_s=self._time_s,
            )
        return events

    # ------------------------------------------------------------------ schedule plan

    def _grad_bits(self) -> int:
        if self._model is None or "grads" not in self.targets:
            return 0
        return sum(
            p.numel() * len(self._positions(p.dtype))
            for p in self._model.parameters()
            if p.requires_grad and p.dtype in _SUPPORTED
        )

    def _ensure_plan(self, inputs_bits: int = 0) -> None:
        """Split the current step's scheduled upsets between its phases (once per step)."""
        if self.schedule is None or self._planned_step == self._step:
            return
        self._carry += sum(self._plan.values())
        self._plan = {}
        self._planned_step = self._step
        if self._step >= self._cursor:
            # Upsets of steps never called (skipped numbers) are due now; a step number seen
            # again (training rolled back after a reset) brings no new ones.
            self._carry += sum(self.schedule.counts_per_step[self._cursor : self._step + 1])
            self._cursor = self._step + 1
        n_upsets = self._carry
        if n_upsets == 0:
            return
        weights: dict[tuple[str, str], int] = {}
        if "inputs" in self.targets and inputs_bits:
            weights[_INPUTS] = inputs_bits
        for key, bits in self._census.items():
            if key[0] in self.targets and bits:
                weights[key] = bits
        if grad_bits := self._grad_bits():
            weights[_GRADS] = grad_bits
        if self._model is not None and self._state_targets:
            state_bits = exposed_bits(self._state_candidates())
            if state_bits:
                weights[_STATE] = state_bits
        if not weights:
            return  # nothing exposed yet: everything carries over
        keys = list(weights)
        bits_arr = np.asarray([weights[k] for k in keys], np.float64)
        counts = self._rng.multinomial(n_upsets, bits_arr / bits_arr.sum())
        self._plan = {k: int(c) for k, c in zip(keys, counts, strict=True) if c}
        self._carry = 0

    def _take_planned(self, key: tuple[str, str]) -> int:
        return self._plan.pop(key, 0)

    @property
    def pending(self) -> int:
        """Scheduled upsets that are due but not applied yet (carried over or planned for phases
        of the current step still to run)."""
        return self._carry + sum(self._plan.values())

    @property
    def scheduled_remaining(self) -> int:
        """Scheduled upsets not applied yet, including those of steps still to come."""
        if self.schedule is None:
            return 0
        return self.pending + sum(self.schedule.counts_per_step[self._cursor :])

    # ------------------------------------------------------------------ inputs

    def corrupt_batch(
        self, inputs: torch.Tensor, *, step: int, time_s: float, duration_s: float | None = None
    ) -> torch.Tensor:
        """Upsets in the buffer holding an input batch; call once per step before the forward.

        Returns ``inputs`` itself when no upset falls on it, else a corrupted copy: the caller's
        tensor is never modified. Also tells the injector which step the coming forward pass
        belongs to (for activation events); ``duration_s`` is how long the batch and activations
        are exposed (default: the previous step's ``after_step`` duration).
        """
        self._enter_step(step, time_s)
        if duration_s is not None:
            self._forward_exposure_s = _finite_non_negative("duration_s", duration_s)
        if "inputs" not in self.targets:
            return inputs
        if not isinstance(inputs, torch.Tensor):
            raise InputError("inputs", type(inputs).__name__, "a torch.Tensor")
        positions = self._positions(inputs.dtype) if inputs.dtype in _SUPPORTED else ()
        bits = inputs.numel() * len(positions)
        if self.schedule is not None:
            self._ensure_plan(inputs_bits=bits)
            n_upsets = self._take_planned(_INPUTS) if bits else 0
        else:
            n_upsets = poisson_count(self.rate_per_bit_s, bits, self._exposure_s(), self._rng)
        if n_upsets == 0:
            return inputs
        sites = sample_sites(
            [inputs.numel()],
            [positions],
            [bit_width(inputs.dtype)],
            n_upsets,
            self._rng,
            multi_bit_fraction=self.multi_bit_fraction,
            max_mbu_bits=self.max_mbu_bits,
        )
        corrupted, result = corrupted_copy(inputs, sites.flat_index, sites.bit, sites.n_bits)
        self._log(
            result,
            kind=None,
            target="inputs",
            tensor_name="input",
            dtype=inputs.dtype,
            bits=sites.bit,
            n_bits=sites.n_bits,
            step=self._step,
            time_s=self._time_s,
        )
        return corrupted

    def _exposure_s(self) -> float:
        if self._forward_exposure_s is not None:
            return self._forward_exposure_s
        return self._last_duration_s

    # ------------------------------------------------------------------ forward hooks

    def _make_hook(self, name: str, kinds: tuple[str, ...]) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> Any:
            return self._on_forward(name, kinds, module, output)

        return hook

    def _on_forward(
        self, name: str, kinds: tuple[str, ...], module: nn.Module, output: Any
    ) -> torch.Tensor | None:
        if not isinstance(output, torch.Tensor) or output.dtype not in _SUPPORTED:
            return None
        if not (module.training or self.activations_in_eval) or output.numel() == 0:
            return None
        positions = self._positions(output.dtype)
        bits = output.numel() * len(positions)
        result = output
        for kind in kinds:
            key = (kind, name)
            self._census[key] = bits
            if not bits:
                continue
            if self.schedule is not None:
                if self._step < 0:
                    continue
                self._ensure_plan()
                n_upsets = self._take_planned(key)
            elif kind == "compute":
                mean = self.compute_error_rate_per_element * output.numel()
                n_upsets = int(self._rng.poisson(mean)) if mean > 0 else 0
            else:
                n_upsets = poisson_count(self.rate_per_bit_s, bits, self._exposure_s(), self._rng)
            if n_upsets == 0:
                continue
            sites = sample_sites(
                [output.numel()],
                [positions],
                [bit_width(output.dtype)],
                n_upsets,
                self._rng,
                multi_bit_fraction=0.0 if kind == "compute" else self.multi_bit_fraction,
                max_mbu_bits=self.max_mbu_bits,
            )
            if result is output:
                result, flip = corrupted_copy(output, sites.flat_index, sites.bit, sites.n_bits)
            else:
                flip = flip_bits(result, sites.flat_index, sites.bit, n_bits=sites.n_bits)
            prefix = "activation" if kind == "activations" else "compute"
            self._log(
                flip,
                kind="compute" if kind == "compute" else None,
                target=kind,
                tensor_name=f"{prefix}:{name}",
                dtype=output.dtype,
                bits=sites.bit,
                n_bits=sites.n_bits,
                step=self._step,
                time_s=self._time_s,
            )
        return None if result is output else result

    # ------------------------------------------------------------------ gradients

    def after_backward(self, *, step: int, time_s: float, duration_s: float) -> list[FaultEvent]:
        """Upsets in gradients held over ``duration_s`` (between backward and the optimizer step).

        Returns the events applied now (also appended to :attr:`events`).
        """
        self._enter_step(step, time_s)
        duration = _finite_non_negative("duration_s", duration_s)
        model = self._require_model("after_backward")
        if "grads" not in self.targets:
            return []
        if self.schedule is None and self.rate_per_bit_s == 0.0:
            return []
        candidates = collect_targets(model, None, ["grads"], bit_mask=self.bit_mask)
        bits = exposed_bits(candidates)
        if self.schedule is not None:
            self._ensure_plan()
            if not bits:
                return []  # planned gradient upsets stay in the plan and carry over
            n_upsets = self._take_planned(_GRADS)
        else:
            n_upsets = poisson_count(self.rate_per_bit_s, bits, duration, self._rng)
        return self._upset_tensors([c for c in candidates if c.n_bits], n_upsets)

    # ------------------------------------------------------------------ state

    def _state_signature(self) -> tuple[int, ...]:
        """Identities of every tensor the state targets could list (cheap to compute).

        Cached candidate lists hold their tensors, so an id cannot be reused while cached: an
        unchanged signature means the same tensor objects (whose sizes are read live).
        """
        assert self._model is not None
        ids = [id(p) for p in self._model.parameters()]
        if self._optimizer is not None and "optimizer" in self._state_targets:
            for state in self._optimizer.state.values():
                ids.append(-1)  # separator: the same ids grouped differently differ
                ids.extend(id(v) for v in state.values())
        if "buffers" in self._state_targets:
            ids.append(-2)
            ids.extend(id(b) for b in self._model.buffers())
        return tuple(ids)

    def _state_candidates(self) -> list[TargetTensor]:
        """The targeted state tensors, rebuilt only when the set of tensor objects changed
        (e.g. the optimizer created its state, or a checkpoint was loaded into it)."""
        assert self._model is not None
        signature = self._state_signature()
        if self._state_cache is None or self._state_cache[0] != signature:
            candidates = collect_targets(
                self._model,
                self._optimizer,
                self._state_targets,
                bit_mask=self.bit_mask,
                include_step_counters=self.include_step_counters,
            )
            self._state_cache = (signature, candidates)
        return self._state_cache[1]

    def after_step(self, *, step: int, time_s: float, duration_s: float) -> list[FaultEvent]:
        """Memory upsets in weights, optimizer state and buffers over ``duration_s``; stuck bits.

        Call after ``optimizer.step()``. ``duration_s`` is the exposure since the previous call
        (the step's wall time on the simulated device). Returns the events applied now (also in
        :attr:`events`), stuck-bit events last.
        """
        self._enter_step(step, time_s)
        duration = _finite_non_negative("duration_s", duration_s)
        self._require_model("after_step")
        self._last_duration_s = duration
        events: list[FaultEvent] = []
        if self._state_targets and (self.schedule is not None or self.rate_per_bit_s > 0.0):
            candidates = [c for c in self._state_candidates() if c.n_bits]
            bits = exposed_bits(candidates)
            if self.schedule is not None:
                self._ensure_plan()
                n_upsets = self._take_planned(_STATE) if bits else 0
            else:
                n_upsets = poisson_count(self.rate_per_bit_s, bits, duration, self._rng)
            events += self._upset_tensors(candidates, n_upsets)
        if not self._stuck_placed:
            self._place_stuck_bits()
        if self._stuck:
            events += self._apply_stuck_bits()
        return events

    def expose_idle(self, *, step: int, time_s: float, duration_s: float) -> list[FaultEvent]:
        """Memory upsets in the state (weights, optimizer state, buffers) while it sits idle in
        memory for ``duration_s`` from ``time_s`` (between training slices).

        Rates only: a schedule counts upsets per training step, so idle time brings none.
        Gradients, activations and inputs do not exist while idle and are not hit; stuck bits
        are not forced again (nothing writes the state while idle; they act at the next
        :meth:`after_step`). Events are logged at ``time_s`` with ``step`` (the step that comes
        next). Returns the events applied now (also in :attr:`events`).

        Raises:
            InputError: a negative or non-finite ``duration_s``, a bad ``step`` or ``time_s``.
        """
        self._enter_step(step, time_s)
        duration = _finite_non_negative("duration_s", duration_s)
        self._require_model("expose_idle")
        if not self._state_targets or self.schedule is not None or self.rate_per_bit_s == 0.0:
            return []
        candidates = [c for c in self._state_candidates() if c.n_bits]
        n_upsets = poisson_count(self.rate_per_bit_s, exposed_bits(candidates), duration, self._rng)
        return self._upset_tensors(candidates, n_upsets)

    # ------------------------------------------------------------------ stuck bits

    @property
    def stuck(self) -> tuple[StuckBit, ...]:
        """The registry of stuck bits."""
        return tuple(self._stuck)

    def add_stuck_bit(self, tensor: str, flat_index: int, bit: int, value: int) -> StuckBit:
        """Register a permanently stuck bit; it takes effect at the next ``after_step``.

        Raises:
            InputError: ``value`` not 0/1, a negative index or bit, or the same bit already
                stuck at the other value.
        """
        if value not in (0, 1):
            raise InputError("value", value, "0 or 1")
        if flat_index < 0:
            raise InputError("flat_index", flat_index, "an integer >= 0")
        if bit < 0:
            raise InputError("bit", bit, "an integer >= 0")
        for other in self._stuck:
            if (other.tensor, other.flat_index, other.bit) == (tensor, flat_index, bit):
                if other.value != value:
                    raise InputError(
                        "value", value, f"{other.value}: that bit is already stuck at {other.value}"
                    )
                return other
        stuck = StuckBit(str(tensor), int(flat_index), int(bit), int(value))
        self._stuck.append(stuck)
        return stuck

    def _place_stuck_bits(self) -> None:
        candidates = [c for c in self._state_candidates() if c.n_bits]
        if not candidates:
            return  # nothing to place them in yet; try again at the next step
        sites = sample_sites(
            [c.numel for c in candidates],
            [c.positions for c in candidates],
            [bit_width(c.tensor.dtype) for c in candidates],
            self.stuck_bits,
            self._rng,
        )
        values = self._rng.integers(0, 2, size=len(sites))
        for i, index, bit, value in zip(
            sites.tensor_index, sites.flat_index, sites.bit, values, strict=True
        ):
            stuck = StuckBit(candidates[int(i)].name, int(index), int(bit), int(value))
            if not any(
                (s.tensor, s.flat_index, s.bit) == (stuck.tensor, stuck.flat_index, stuck.bit)
                for s in self._stuck
            ):
                self._stuck.append(stuck)
        self._stuck_placed = True

    def _apply_stuck_bits(self) -> list[FaultEvent]:
        assert self._model is not None
        by_name = {
            c.name: c
            for c in collect_targets(
                self._model,
                self._optimizer,
                STATE_TARGETS,
                include_step_counters=self.include_step_counters,
            )
        }
        grouped: dict[str, list[StuckBit]] = {}
        for stuck in self._stuck:
            grouped.setdefault(stuck.tensor, []).append(stuck)
        events: list[FaultEvent] = []
        for name, stuck_bits in grouped.items():
            target = by_name.get(name)
            if target is None:
                continue  # the tensor does not exist (yet): e.g. optimizer state before step 1
            width = bit_width(target.tensor.dtype)
            valid = [s for s in stuck_bits if s.flat_index < target.numel and s.bit < width]
            if not valid:
                continue
            masks: dict[int, list[int]] = {}
            for s in valid:
                entry = masks.setdefault(s.flat_index, [0, 0])
                entry[0 if s.value else 1] |= 1 << s.bit
            index = np.fromiter(masks, np.int64, len(masks))
            set_mask = np.asarray([masks[i][0] for i in masks], np.uint64)
            clear_mask = np.asarray([masks[i][1] for i in masks], np.uint64)
            result = force_bits(target.tensor, index, set_mask, clear_mask)
            # raw bits: widening to float64 would hide a change of a NaN's quiet bit
            assert result.old_bits is not None and result.new_bits is not None
            changed = result.old_bits != result.new_bits
            for k in np.flatnonzero(changed):
                element = int(index[k])
                for s in valid:
                    if s.flat_index != element:
                        continue
                    event = FaultEvent(
                        time_s=self._time_s,
                        step=self._step,
                        kind="stuck",
                        target=target.target,
                        tensor=name,
                        flat_index=element,
                        bit=s.bit,
                        old_value=float(result.old_values[k]),
                        new_value=float(result.new_values[k]),
                        dtype=target.dtype_name,
                        old_bits=int(result.old_bits[k]),
                        new_bits=int(result.new_bits[k]),
                    )
                    events.append(event)
                self._counters["stuck_changes"] += 1
        self.events.extend(events)
        return events

    # ------------------------------------------------------------------ resets

    def reset_due(self, *, time_s: float, duration_s: float) -> bool:
        """Draw whether a functional interrupt (device reset) happens within ``duration_s``.

        Probability ``1 - exp(-reset_rate_per_s * duration_s)``; a reset is logged as a
        ``"reset"`` event. The caller reacts: see :mod:`orbitlearn.faults.events` (reload the
        last checkpoint; keep this injector as it is).
        """
        time = _check_time(time_s)
        duration = _finite_non_negative("duration_s", duration_s)
        if not poisson_occurs(self.reset_rate_per_s, duration, self._rng):
            return False
        self._counters["resets"] += 1
        self.events.append(
            FaultEvent(
                time_s=time,
                step=self._step,
                kind="reset",
                target="compute",
                tensor="device",
                flat_index=-1,
                bit=-1,
                old_value=math.nan,
                new_value=math.nan,
                dtype="",
                n_bits=0,
            )
        )
        return True

    def raise_if_reset(self, *, time_s: float, duration_s: float) -> None:
        """:meth:`reset_due`, raising :class:`~orbitlearn.faults.DeviceReset` when it is."""
        if self.reset_due(time_s=time_s, duration_s=duration_s):
            raise DeviceReset(self.events[-1])

    # ------------------------------------------------------------------ summaries

    @property
    def counters(self) -> dict[str, int]:
        """Counts: upsets applied by target and kind, resets, stuck-bit value changes."""
        counts = dict(self._counters)
        counts["injected"] = sum(1 for e in self.events if e.kind in ("seu", "mbu", "compute"))
        for event in self.events:
            counts[f"kind.{event.kind}"] = counts.get(f"kind.{event.kind}", 0) + 1
            if event.kind != "reset":
                counts[f"target.{event.target}"] = counts.get(f"target.{event.target}", 0) + 1
        counts["pending"] = self.pending
        return counts

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue identically: RNG state, rates, stuck bits, log, plan."""
        return {
            "version": _STATE_VERSION,
            "rng": copy.deepcopy(self._rng.bit_generator.state),
            "rate_per_bit_s": self.rate_per_bit_s,
            "reset_rate_per_s": self.reset_rate_per_s,
            "compute_error_rate_per_element": self.compute_error_rate_per_element,
            "stuck": [s.to_dict() for s in self._stuck],
            "stuck_placed": self._stuck_placed,
            "events": [e.to_dict() for e in self.events],
            "counters": dict(self._counters),
            "step": self._step,
            "time_s": self._time_s,
            "forward_exposure_s": self._forward_exposure_s,
            "last_duration_s": self._last_duration_s,
            "planned_step": self._planned_step,
            "plan": [[k[0], k[1], v] for k, v in self._plan.items()],
            "carry": self._carry,
            "cursor": self._cursor,
            "census": [[k[0], k[1], v] for k, v in self._census.items()],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (the binding and configuration are kept).

        Raises:
            InputError: ``state`` is not an injector state of this version.
        """
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            found = state.get("version") if isinstance(state, dict) else type(state).__name__
            raise InputError("state['version']", found, f"{_STATE_VERSION} (a FaultInjector state)")
        try:
            rng = np.random.Generator(np.random.PCG64())
            rng.bit_generator.state = copy.deepcopy(state["rng"])
            stuck = [StuckBit(**s) for s in state["stuck"]]
            events = [FaultEvent.from_dict(e) for e in state["events"]]
            plan = {(str(k), str(m)): int(v) for k, m, v in state["plan"]}
            census = {(str(k), str(m)): int(v) for k, m, v in state["census"]}
            rates = (
                float(state["rate_per_bit_s"]),
                float(state["reset_rate_per_s"]),
                float(state["compute_error_rate_per_element"]),
            )
            scalars = (
                bool(state["stuck_placed"]),
                dict(state["counters"]),
                int(state["step"]),
                float(state["time_s"]),
                state["forward_exposure_s"],
                float(state["last_duration_s"]),
                state["planned_step"],
                int(state["carry"]),
                int(state["cursor"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                "state", f"missing or bad entry ({exc})", "a FaultInjector state"
            ) from exc
        self._rng = rng
        self._stuck = stuck
        self.events = events
        self._plan = plan
        self._census = census
        self.rate_per_bit_s, self.reset_rate_per_s, self.compute_error_rate_per_element = rates
        (
            self._stuck_placed,
            self._counters,
            self._step,
            self._time_s,
            self._forward_exposure_s,
            self._last_duration_s,
            self._planned_step,
            self._carry,
            self._cursor,
        ) = scalars
