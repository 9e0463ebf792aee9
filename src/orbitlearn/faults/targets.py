"""The tensors radiation can hit during training, enumerated with stable names.

Targets, and the tensor names used in :class:`~orbitlearn.faults.FaultEvent`:

- ``weights``: the model's parameters, ``"layers.0.weight"`` (a parameter shared by two modules is
  listed once, under its first name);
- ``grads``: each parameter's ``.grad``, ``"layers.0.weight.grad"``;
- ``optimizer``: tensors in the optimizer's per-parameter state (Adam ``exp_avg``/``exp_avg_sq``,
  SGD ``momentum_buffer``...), ``"optimizer.state.layers.0.weight.exp_avg"``. Scalar ``step``
  counters are left out unless asked for: PyTorch keeps them as host tensors (or floats) that
  drive the bias correction, a different fault model from a bit in a moment tensor;
- ``buffers``: floating-point module buffers (BatchNorm running statistics), ``"bn.running_mean"``;
- ``activations``, ``compute`` and ``inputs`` exist only during a step; the injector's hooks and
  :meth:`~orbitlearn.faults.FaultInjector.corrupt_batch` name them ``"activation:<module>"``,
  ``"compute:<module>"`` and ``"input"``.

>>> import torch
>>> model = torch.nn.Sequential(torch.nn.Linear(3, 2))
>>> [(t.name, t.n_bits) for t in collect_targets(model, None, ["weights"])]
[('0.weight', 192), ('0.bias', 64)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from orbitlearn.errors import InputError
from orbitlearn.faults.bitflip import (
    BitMaskSpec,
    resolve_bit_positions,
    supported_dtypes,
)

__all__ = [
    "HOOK_TARGETS",
    "STATE_TARGETS",
    "TARGET_NAMES",
    "TargetTensor",
    "collect_targets",
    "exposed_bits",
    "parameter_names",
    "validate_targets",
]

#: Every target the injector knows.
TARGET_NAMES = ("weights", "grads", "optimizer", "buffers", "activations", "inputs", "compute")
#: Targets held in memory across steps (hit in ``after_step``; where stuck bits live).
STATE_TARGETS = ("weights", "optimizer", "buffers")
#: Targets that exist only inside a forward pass (hit by forward hooks).
HOOK_TARGETS = ("activations", "compute")

_SUPPORTED = frozenset(supported_dtypes())


@dataclass(frozen=True)
class TargetTensor:
    """A named tensor exposed to upsets.

    ``positions`` are the bit positions that can be hit (all bits unless a bit mask narrows
    them); ``n_bits`` is the exposure: elements x positions.
    """

    name: str
    target: str
    tensor: torch.Tensor
    positions: tuple[int, ...]

    @property
    def numel(self) -> int:
        """Number of elements."""
        return self.tensor.numel()

    @property
    def n_bits(self) -> int:
        """Exposed bits: elements x selectable bit positions."""
        return self.tensor.numel() * len(self.positions)

    @property
    def dtype_name(self) -> str:
        """The dtype without the ``torch.`` prefix, e.g. ``"float32"``."""
        return str(self.tensor.dtype).removeprefix("torch.")


def validate_targets(targets: Iterable[str] | str) -> tuple[str, ...]:
    """Check and normalise a list of target names (a comma-separated string is accepted).

    Raises:
        InputError: an unknown name, or no names.

    >>> validate_targets("weights,optimizer")
    ('weights', 'optimizer')
    >>> validate_targets(["weights", "moments"])
    Traceback (most recent call last):
    ...
    orbitlearn.errors.InputError: Expected `targets` to be names from weights, grads, optimizer, buffers, activations, inputs, compute, actual: 'moments'
    """
    names = [t.strip() for t in targets.split(",")] if isinstance(targets, str) else list(targets)
    allowed = ", ".join(TARGET_NAMES)
    for name in names:
        if name not in TARGET_NAMES:
            raise InputError("targets", name, f"names from {allowed}")
    if not names:
        raise InputError("targets", names, f"at least one of {allowed}")
    return tuple(dict.fromkeys(names))


def parameter_names(model: nn.Module) -> dict[int, str]:
    """Map ``id(parameter)`` to its first qualified name in ``model``."""
    names: dict[int, str] = {}
    for name, param in model.named_parameters(remove_duplicate=True):
        names.setdefault(id(param), name)
    return names


def _usable(tensor: object) -> bool:
    return isinstance(tensor, torch.Tensor) and tensor.dtype in _SUPPORTED and tensor.numel() > 0


def _make(name: str, target: str, tensor: torch.Tensor, mask: BitMaskSpec) -> TargetTensor:
    return TargetTensor(name, target, tensor, resolve_bit_positions(tensor.dtype, mask))


def _optimizer_state(
    names: dict[int, str],
    optimizer: torch.optim.Optimizer,
    mask: BitMaskSpec,
    include_step_counters: bool,
) -> list[TargetTensor]:
    found: list[TargetTensor] = []
    for g, group in enumerate(optimizer.param_groups):
        for i, param in enumerate(group["params"]):
            state = optimizer.state.get(param)
            if not state:
                continue
            param_name = names.get(id(param), f"param_groups.{g}.params.{i}")
            for key, value in state.items():
                if key == "step" and not include_step_counters:
                    continue
                if _usable(value):
                    found.append(
                        _make(f"optimizer.state.{param_name}.{key}", "optimizer", value, mask)
                    )
    return found


def collect_targets(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    targets: Sequence[str],
    *,
    bit_mask: BitMaskSpec = None,
    include_step_counters: bool = False,
) -> list[TargetTensor]:
    """The tensors of the given state targets, in a stable order.

    Only ``weights``, ``grads``, ``optimizer`` and ``buffers`` are enumerated here (others are
    ignored: they exist only inside a step). Parameters without a gradient yet, empty tensors and
    unsupported dtypes are skipped; tensors whose dtype has no bit selected by ``bit_mask`` are
    listed with no positions (zero exposure).
    """
    found: list[TargetTensor] = []
    params = list(model.named_parameters(remove_duplicate=True))
    for target in targets:
        if target == "weights":
            found += [_make(n, "weights", p, bit_mask) for n, p in params if _usable(p)]
        elif target == "grads":
            found += [
                _make(f"{n}.grad", "grads", p.grad, bit_mask)
                for n, p in params
                if p.grad is not None and _usable(p.grad)
            ]
        elif target == "optimizer" and optimizer is not None:
            names = {id(p): n for n, p in params}
            found += _optimizer_state(names, optimizer, bit_mask, include_step_counters)
        elif target == "buffers":
            found += [
                _make(n, "buffers", b, bit_mask)
                for n, b in model.named_buffers(remove_duplicate=True)
                if _usable(b) and b.is_floating_point()
            ]
    return found


def exposed_bits(tensors: Iterable[TargetTensor]) -> int:
    """Total bits exposed by ``tensors``.

    >>> t = TargetTensor("w", "weights", torch.zeros(4, dtype=torch.float16), (14,))
    >>> exposed_bits([t])
    4
    """
    return sum(t.n_bits for t in tensors)
