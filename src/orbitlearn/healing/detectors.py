"""Cheap detectors of silent data corruption in training.

* :class:`SpikeDetector` - robust running statistics (median and MAD over a window) of the
  logarithm of a scalar such as the loss or the total gradient norm; flags values far above the
  running level.
* :class:`StateRangeCheck` - non-finite values and values beyond a per-tensor exponent range
  learned from clean scans (an exponent-bit flip multiplies a value by up to ``2**128``).
* :class:`ActivationRangeGuard` - Ranger-style range restriction: per-layer output ranges are
  learned from clean forward passes through forward hooks; outputs outside the range are
  detected (and optionally clamped, out of place, so autograd stays correct).

The bit-exact detectors (protected copies, replicas) are in :mod:`orbitlearn.healing.protected`
and :mod:`orbitlearn.healing.redundancy`.
"""

from __future__ import annotations

import math
import sys
from collections import deque
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from orbitlearn.errors import InputError
from orbitlearn.healing.bits import read_floats

__all__ = ["ActivationRangeGuard", "RangeViolation", "SpikeDetector", "StateRangeCheck"]

# log of the largest finite float64 (math.exp overflows above it)
_LOG_LIMIT = math.log(sys.float_info.max)


def _sorted_median(ordered: list[float]) -> float:
    """Median of a non-empty ascending list."""
    n = len(ordered)
    return 0.5 * (ordered[(n - 1) // 2] + ordered[n // 2])


class SpikeDetector:
    """Flags upward spikes of a positive scalar against robust statistics of its logarithm.

    Losses and gradient norms vary *multiplicatively* from batch to batch, with a heavy right
    tail where the data are imbalanced or non-IID: in the default mission (health workload,
    24 satellites, fresh statistics each 50-step round) clean batches reach 25x the running
    median loss and 4.4x the median gradient norm. A radiation upset that matters changes
    them by orders of magnitude instead (an exponent-bit flip multiplies a value by
    ``2**(2**k)``: up to ``2**128``). So the statistics are taken on ``log(value)``: with
    ``m`` and ``MAD`` the median and the median absolute deviation of the logarithms of the
    last ``window`` accepted values, a value ``x`` is a spike when, after ``warmup`` values
    have been seen,

    * ``log(x) > m + threshold_mads * 1.4826 * MAD`` (1.4826 * MAD estimates a standard
      deviation for normal data: the window's own spread sets the bar), **and**
    * ``x > min_ratio * exp(m)``: a floor for steady windows, where the first rule alone
      would flag small jumps; clean gradient norms in the default mission reached 3.4x
      their median in a window whose logarithms spread by only 0.18, hence a default of
      10.

    Replayed over the losses and gradient norms of the default mission's first simulated day
    of clean training (``orbitlearn run --set time.days=1``: 347 rounds, 17 350 steps), this
    rule flags nothing where the same rule on the values themselves flagged 18 batches
    (tests/healing/test_spikes.py has a reproducible clean run). Non-finite values are not judged here (the finite checks catch
    them), and a window whose median is not positive judges nothing (no scale to compare
    with). The threshold is recomputed every ``refresh_every`` accepted values (robust
    statistics of a 64-value window move slowly; sorting it every step would cost more than
    the check).

    During warm-up only a coarse guard applies: a value above ``warmup_ratio`` times a
    reference is a spike. The reference is the *prior* when one was given (:meth:`set_prior`:
    the median of the same quantity in an earlier run, such as a satellite's previous round),
    else the median of the values kept so far once there are ``self_prime`` of them (a fresh
    run's very first values are judged by nothing but the finite checks). The ratio is coarse
    on purpose: a new round starts from a new global model whose losses may sit well above
    the previous round's (carrying the whole window flagged those), and early training moves
    losses and gradient norms by an order of magnitude, while a harmful exponent upset moves
    them by many.

    Args:
        window: number of recent accepted values kept.
        warmup: values needed before any spike is reported.
        threshold_mads: how many robust standard deviations of ``log(value)`` above the
            median count as a spike.
        min_ratio: a spike must also exceed this multiple of the median.
        refresh_every: accepted values between threshold updates.
        warmup_ratio: during warm-up, the multiple of the reference that is a spike.
        self_prime: values kept before, without a prior, their median is the warm-up
            reference (at least 1, at most ``warmup``).

    >>> d = SpikeDetector(window=16, warmup=8)
    >>> for v in [1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 1.02, 0.98]:
    ...     d.update(v)
    >>> d.is_spike(1.1), d.is_spike(50.0)
    (False, True)
    >>> heavy = SpikeDetector(window=16, warmup=8)
    >>> for v in [0.01, 0.2, 0.005, 0.02, 0.008, 0.3, 0.01, 0.03]:  # rare hard batches
    ...     heavy.update(v)
    >>> heavy.is_spike(0.5), heavy.is_spike(1e6)
    (False, True)
    >>> primed = SpikeDetector(window=16, warmup=8)
    >>> primed.set_prior(d.median())
    >>> primed.is_spike(50.0), primed.is_spike(1e6)  # warm-up: only the coarse guard
    (False, True)
    >>> fresh = SpikeDetector(window=16, warmup=8)
    >>> fresh.is_spike(1e6)  # nothing to compare the first value with
    False
    >>> for v in [2.0, 1.5, 1.2]:
    ...     fresh.update(v)
    >>> fresh.limit(), fresh.is_spike(100.0), fresh.is_spike(1e6)  # 1000 x median 1.5
    (1500.0, False, True)
    """

    def __init__(
        self,
        *,
        window: int = 64,
        warmup: int = 16,
        threshold_mads: float = 8.0,
        min_ratio: float = 10.0,
        refresh_every: int = 8,
        warmup_ratio: float = 1e3,
        self_prime: int = 3,
    ) -> None:
        if window < 2:
            raise InputError("window", window, "an integer >= 2")
        if not 1 <= warmup <= window:
            raise InputError("warmup", warmup, f"an integer in [1, window={window}]")
        self.window = window
        self.warmup = warmup
        self.threshold_mads = threshold_mads
        self.min_ratio = min_ratio
        self.refresh_every = max(1, int(refresh_every))
        if not (math.isfinite(warmup_ratio) and warmup_ratio > 1.0):
            raise InputError("warmup_ratio", warmup_ratio, "a finite number > 1")
        self.warmup_ratio = float(warmup_ratio)
        if isinstance(self_prime, bool) or not isinstance(self_prime, int):
            raise InputError("self_prime", self_prime, f"an integer in [1, warmup={warmup}]")
        if not 1 <= self_prime <= warmup:
            raise InputError("self_prime", self_prime, f"an integer in [1, warmup={warmup}]")
        self.self_prime = self_prime
        self._prior: float | None = None
        self._values: deque[float] = deque(maxlen=window)
        self._threshold: float | None = None
        self._since_refresh = 0

    def threshold(self) -> float | None:
        """The current spike threshold, or None during warm-up (inf: nothing is judged)."""
        if self._threshold is None and len(self._values) >= self.warmup:
            self._since_refresh = 0
            ordered = sorted(self._values)
            median = _sorted_median(ordered)
            if not median > 0.0:
                self._threshold = math.inf
                return self._threshold
            # log is monotonic: the sorted logs are the logs of the sorted values
            logs = [math.log(v) if v > 0.0 else -_LOG_LIMIT for v in ordered]
            log_median = math.log(median)
            mad = _sorted_median(sorted([abs(v - log_median) for v in logs]))
            log_limit = log_median + self.threshold_mads * 1.4826 * mad
            limit = math.exp(log_limit) if log_limit < _LOG_LIMIT else math.inf
            self._threshold = max(limit, self.min_ratio * median)
        return self._threshold

    def set_prior(self, median: float | None) -> None:
        """Judge the warm-up against ``median`` (an earlier run's; None or <= 0: no prior)."""
        self._prior = float(median) if median is not None and median > 0.0 else None

    def median(self) -> float | None:
        """Median of the kept values (None when there are none)."""
        return _sorted_median(sorted(self._values)) if self._values else None

    def limit(self) -> float | None:
        """The value above which a spike is reported now: the threshold; during warm-up
        ``warmup_ratio`` times the prior or, without one, times the median of the values kept
        once there are ``self_prime``; else None (nothing is)."""
        threshold = self.threshold()
        if threshold is not None:
            return threshold
        reference = self._prior
        if reference is None and len(self._values) >= self.self_prime:
            median = self.median()
            reference = median if median is not None and median > 0.0 else None
        return None if reference is None else self.warmup_ratio * reference

    def is_spike(self, value: float) -> bool:
        """Whether ``value`` is a spike (False for non-finite values; during warm-up only
        against the prior, if any)."""
        limit = self.limit()
        return limit is not None and math.isfinite(value) and value > limit

    def update(self, value: float) -> None:
        """Add an accepted value (non-finite values are ignored)."""
        if math.isfinite(value):
            self._values.append(float(value))
            self._since_refresh += 1
            if self._since_refresh >= self.refresh_every:
                self._threshold = None

    def state_dict(self) -> dict[str, Any]:
        return {
            "values": list(self._values),
            "threshold": self._threshold,
            "since_refresh": self._since_refresh,
            "prior": self._prior,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._values = deque((float(v) for v in state["values"]), maxlen=self.window)
        threshold = state.get("threshold")
        self._threshold = None if threshold is None else float(threshold)
        self._since_refresh = int(state.get("since_refresh", 0))
        self.set_prior(state.get("prior"))


class StateRangeCheck:
    """Non-finite and exponent-range check over named state tensors.

    For each floating tensor the largest magnitude seen in clean scans is learned; a later scan
    flags a tensor holding a NaN/inf, or whose largest magnitude exceeds
    ``max(learned * 2**exponent_slack_binades, floor)``. With the default 10 binades a tensor
    may grow 1024x between clean scans (weights and optimizer moments grow far slower), while
    a flip of fp32 bit 30, 29 or 28 multiplies a value by 2**128, 2**64 or 2**32.

    Integer tensors (step counters) are not range-checked.

    Args:
        exponent_slack_binades: allowed growth, in powers of two, over the learned maximum.
        floor: magnitudes up to this are never flagged (tensors that start at zero).
    """

    def __init__(self, *, exponent_slack_binades: int = 10, floor: float = 1.0) -> None:
        self.exponent_slack_binades = exponent_slack_binades
        self.floor = floor
        self._learned: dict[str, float] = {}

    def scan(
        self, blocks: Sequence[tuple[str, torch.Tensor]], *, learn: bool = True
    ) -> list[tuple[str, str]]:
        """Check ``blocks``; return ``(name, problem)`` for each bad one.

        With ``learn`` the learned maxima of the good blocks are raised to what was seen.
        """
        floating = [(n, t) for n, t in blocks if t.is_floating_point() and t.numel() > 0]
        if not floating:
            return []
        # one aminmax per tensor, then a single read-back of all extremes (aminmax is ~10x
        # faster on CPU than an inf-norm, which takes a scalar path: measured while tuning)
        extremes = [torch.aminmax(t.detach()) for _, t in floating]
        values = read_floats([v for e in extremes for v in (e.min, e.max)])
        magnitudes = [
            max(abs(values[2 * k]), abs(values[2 * k + 1]))
            if not (math.isnan(values[2 * k]) or math.isnan(values[2 * k + 1]))
            else math.nan
            for k in range(len(floating))
        ]
        bad: list[tuple[str, str]] = []
        for (name, _), magnitude in zip(floating, magnitudes, strict=True):
            if not math.isfinite(magnitude):
                bad.append((name, f"holds a non-finite value (max |x| = {magnitude})"))
                continue
            learned = self._learned.get(name)
            limit = self.limit(name)
            if magnitude > limit:
                bad.append(
                    (name, f"max |x| = {magnitude:.6g} exceeds its learned range {limit:.6g}")
                )
            elif learn:
                self._learned[name] = max(magnitude, learned or 0.0)
        return bad

    def limit(self, name: str) -> float:
        """The largest magnitude a scan accepts in block ``name`` (inf before it was learned)."""
        learned = self._learned.get(name)
        if learned is None:
            return math.inf
        return max(learned * 2.0**self.exponent_slack_binades, self.floor)

    def state_dict(self) -> dict[str, Any]:
        return {"learned": dict(self._learned)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._learned = {str(k): float(v) for k, v in state["learned"].items()}


class RangeViolation:
    """One layer output (``activation:<module name>``, as the fault injector names it) or the
    model input (``input``) that left its range in a forward pass."""

    __slots__ = ("high", "layer", "low", "observed_max", "observed_min")

    def __init__(
        self, layer: str, observed_min: float, observed_max: float, low: float, high: float
    ) -> None:
        self.layer = layer
        self.observed_min = observed_min
        self.observed_max = observed_max
        self.low = low
        self.high = high

    def describe(self) -> str:
        return (
            f"output range [{self.observed_min:.6g}, {self.observed_max:.6g}] outside "
            f"[{self.low:.6g}, {self.high:.6g}]"
        )


class ActivationRangeGuard:
    """Ranger-style activation range restriction, learned from clean passes.

    Forward hooks on every leaf module (and a pre-hook on the model for its input) record each
    output's minimum and maximum (one ``aminmax`` per layer, no host synchronisation in the
    hook; the pass's extremes are read back once, when the pass is judged). During the first
    ``warmup_passes`` clean passes the per-layer extremes are learned; after that, the allowed
    range of a layer is ``[lo - margin*w, hi + margin*w]`` where ``[lo, hi]`` are the learned
    extremes and ``w = hi - lo``. The learned extremes keep following clean passes, so ranges
    widen as training legitimately grows activations.

    ``mode="detect"`` only reports (the healer re-executes the step); ``mode="clamp"`` also
    returns ``torch.clamp(output, low, high)`` from the hook - a new tensor, so the module's
    own output and the caller's tensors are never modified and gradients stay correct.

    Layers are named as the fault injector names their outputs: ``activation:<module name>``,
    and ``input`` for the model input. Hooks must be registered after any fault injector's hooks
    on the same modules so the guard sees what the next layer sees (:meth:`attach` appends;
    the onboard trainer binds :class:`~orbitlearn.healing.Healing` after the injector).

    Only forward passes of modules in training mode are observed (and, with ``clamp``,
    clamped): an evaluation pass between training steps neither feeds the ranges nor is
    changed, unless ``include_eval`` is set.

    Args:
        margin: range widening as a fraction of the learned width.
        warmup_passes: clean passes observed before violations are reported.
        mode: ``"detect"`` or ``"clamp"``.
        include_input: also guard the model's first positional input.
        include_eval: also observe (and clamp) forward passes in eval mode.
    """

    def __init__(
        self,
        *,
        margin: float = 1.0,
        warmup_passes: int = 8,
        mode: str = "detect",
        include_input: bool = True,
        include_eval: bool = False,
    ) -> None:
        if mode not in ("detect", "clamp"):
            raise InputError("mode", mode, "one of 'detect', 'clamp'")
        if margin < 0:
            raise InputError("margin", margin, "a number >= 0")
        self.margin = float(margin)
        self.warmup_passes = int(warmup_passes)
        self.mode = mode
        self.include_input = include_input
        self.include_eval = bool(include_eval)
        self.names: list[str] = []
        self._handles: list[Any] = []
        self._observed: list[tuple[int, Any]] = []
        self._lo: list[float] = []  # learned extremes per layer (inf/-inf: not seen yet)
        self._hi: list[float] = []
        self._bounds: list[tuple[float, float]] | None = None  # allowed range per layer
        self.clean_passes = 0
        self._last: tuple[list[float], list[float]] | None = None

    # -------------------------------------------------------------- hooks
    def attach(self, model: nn.Module) -> None:
        """Register the hooks on ``model`` (re-attaching replaces them)."""
        self.detach()
        names = []
        if self.include_input:
            names.append("input")
            self._handles.append(model.register_forward_pre_hook(self._input_hook))
        for name, module in model.named_modules():
            if next(module.children(), None) is not None:
                continue
            index = len(names)
            names.append(f"activation:{name}")
            self._handles.append(module.register_forward_hook(self._make_hook(index)))
        if names != self.names:
            self._reset_ranges(len(names))
        self.names = names

    def detach(self) -> None:
        """Remove the hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _reset_ranges(self, n: int) -> None:
        self._lo = [math.inf] * n
        self._hi = [-math.inf] * n
        self._bounds = None
        self.clean_passes = 0

    def _input_hook(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        if not (module.training or self.include_eval):
            return
        if args and isinstance(args[0], torch.Tensor) and args[0].is_floating_point():
            self._observe(0, args[0])

    def _make_hook(self, index: int) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> Any:
            if not (module.training or self.include_eval):
                return None
            if not isinstance(output, torch.Tensor) or not output.is_floating_point():
                return None
            self._observe(index, output)
            if self.mode == "clamp" and self._bounds is not None:
                low, high = self._bounds[index]
                if math.isfinite(low) and math.isfinite(high):
                    return torch.clamp(output, low, high)
            return None

        return hook

    def _observe(self, index: int, tensor: torch.Tensor) -> None:
        if tensor.numel():
            self._observed.append((index, torch.aminmax(tensor.detach())))

    # -------------------------------------------------------------- passes
    def begin_pass(self) -> None:
        """Forget the observations of the previous forward pass."""
        self._observed = []
        self._last = None

    def _pass_extremes(self) -> tuple[list[float], list[float]] | None:
        """Per-layer (min, max) of the current pass (NaN if a NaN was seen; +-inf if not run)."""
        if self._last is not None:
            return self._last
        if not self._observed:
            return None
        values = read_floats([v for _, e in self._observed for v in (e.min, e.max)])
        n = len(self.names)
        mins, maxs = [math.inf] * n, [-math.inf] * n
        for k, (index, _) in enumerate(self._observed):
            low, high = values[2 * k], values[2 * k + 1]
            if math.isnan(low) or math.isnan(mins[index]):
                mins[index] = math.nan
            else:
                mins[index] = min(mins[index], low)
            if math.isnan(high) or math.isnan(maxs[index]):
                maxs[index] = math.nan
            else:
                maxs[index] = max(maxs[index], high)
        self._last = (mins, maxs)
        return self._last

    def violations(self) -> list[RangeViolation]:
        """Layers whose output in the current pass left the allowed range (or held NaN)."""
        if self._bounds is None:
            return []
        extremes = self._pass_extremes()
        if extremes is None:
            return []
        found = []
        for index, (low, high) in enumerate(self._bounds):
            mn, mx = extremes[0][index], extremes[1][index]
            if mn == math.inf:
                continue  # the layer did not run in this pass
            # NaN compares False, so the negated tests flag it
            if not (mn >= low) or not (mx <= high):
                found.append(RangeViolation(self.names[index], mn, mx, low, high))
        return found

    def commit_clean_pass(self) -> None:
        """Learn from the current pass (call only for passes judged clean or reproduced)."""
        extremes = self._pass_extremes()
        if extremes is None:
            return
        for index, (mn, mx) in enumerate(zip(*extremes, strict=True)):
            if math.isfinite(mn) and math.isfinite(mx):
                self._lo[index] = min(self._lo[index], mn)
                self._hi[index] = max(self._hi[index], mx)
        self.clean_passes += 1
        if self.clean_passes >= self.warmup_passes:
            self._derive_bounds()

    def _derive_bounds(self) -> None:
        bounds = []
        for lo, hi in zip(self._lo, self._hi, strict=True):
            if lo > hi:  # never seen: no restriction
                bounds.append((-math.inf, math.inf))
                continue
            width = hi - lo
            bounds.append((lo - self.margin * width, hi + self.margin * width))
        self._bounds = bounds

    @property
    def active(self) -> bool:
        """Whether warm-up is over and violations are being reported."""
        return self._bounds is not None

    @property
    def bounds(self) -> dict[str, tuple[float, float]]:
        """The allowed range per layer (empty during warm-up)."""
        return {} if self._bounds is None else dict(zip(self.names, self._bounds, strict=True))

    def state_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "clean_passes": self.clean_passes,
            "lo": list(self._lo),
            "hi": list(self._hi),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        names = [str(n) for n in state["names"]]
        if self.names and names != self.names:
            raise InputError("activation guard state", names, f"layer names {self.names}")
        self._reset_ranges(len(names))
        self._lo = [float(v) for v in state["lo"]]
        self._hi = [float(v) for v in state["hi"]]
        self.clean_passes = int(state["clean_passes"])
        if self.clean_passes >= self.warmup_passes:
            self._derive_bounds()
