"""Counted FLOPs of a training step (forward + backward), cached per batch shape.

Step cost comes from :class:`torch.utils.flop_counter.FlopCounterMode`, which counts the
floating-point operations of matrix multiplications, convolutions and attention (the operations
that dominate training; element-wise work and the optimizer update are not counted). The count
runs on ``meta`` tensors - shapes only, no arithmetic, no memory - with every module hook
disabled (fault injectors and healing guards never see it), and falls back to one real execution
on copies of the parameters when a model or loss cannot run on ``meta``. The caller's model,
gradients and global RNG are left untouched.

>>> import torch
>>> model = torch.nn.Linear(10, 4)
>>> flops = count_step_flops(model, torch.nn.functional.cross_entropy,
...                          torch.zeros(8, 10), torch.zeros(8, dtype=torch.long))
>>> flops.forward, flops.backward, flops.total   # 2*8*10*4; backward: weight gradient only
(640, 640, 1280)
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["FlopCache", "StepFlops", "count_step_flops"]

LossFn = Callable[[Any, Any], torch.Tensor]


@dataclass(frozen=True)
class StepFlops:
    """FLOPs of one training step on one batch shape.

    Attributes:
        forward: FLOPs of the forward pass and the loss.
        backward: FLOPs of the backward pass.
        method: ``"meta"`` (shapes only) or ``"execute"`` (one real run on a copy).
    """

    forward: int
    backward: int
    method: str = "meta"

    @property
    def total(self) -> int:
        """Forward plus backward FLOPs."""
        return self.forward + self.backward


@contextlib.contextmanager
def _hooks_disabled(model: nn.Module) -> Iterator[None]:
    names = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    saved = []
    for module in model.modules():
        for name in names:
            hooks = getattr(module, name, None)
            if hooks:
                saved.append((module, name, hooks))
                setattr(module, name, OrderedDict())
    try:
        yield
    finally:
        for module, name, hooks in saved:
            setattr(module, name, hooks)


def _like(value: Any, device: str) -> Any:
    if isinstance(value, torch.Tensor):
        if device == "meta":
            return torch.empty_like(value, device="meta")
        return value.detach().clone()
    if isinstance(value, tuple | list):
        return type(value)(_like(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _like(v, device) for k, v in value.items()}
    return value


def _count(model: nn.Module, loss_fn: LossFn, inputs: Any, targets: Any, device: str) -> StepFlops:
    tensors: dict[str, torch.Tensor] = {}
    for name, p in model.named_parameters():
        copy = torch.empty_like(p, device="meta") if device == "meta" else p.detach().clone()
        tensors[name] = copy.requires_grad_(p.requires_grad)
    for name, b in model.named_buffers():
        tensors[name] = (
            torch.empty_like(b, device="meta") if device == "meta" else b.detach().clone()
        )
    x, y = _like(inputs, device), _like(targets, device)
    with FlopCounterMode(display=False) as counter:
        args = x if isinstance(x, tuple) else (x,)
        output = torch.func.functional_call(model, tensors, args)
        loss = loss_fn(output, y)
        forward = counter.get_total_flops()
        if loss.requires_grad:
            loss.backward()
        total = counter.get_total_flops()
    return StepFlops(int(forward), int(total - forward), device if device == "meta" else "execute")


def count_step_flops(model: nn.Module, loss_fn: LossFn, inputs: Any, targets: Any) -> StepFlops:
    """FLOPs of ``loss_fn(model(inputs), targets).backward()`` for these batch shapes.

    Args:
        model: the model (left untouched: its hooks are disabled and parameters copied).
        loss_fn: ``loss_fn(output, targets) -> scalar loss``.
        inputs: the model input (a tensor, or a tuple of positional inputs).
        targets: what ``loss_fn`` compares the output with.

    Returns:
        A :class:`StepFlops`.
    """
    with _hooks_disabled(model), torch.random.fork_rng(devices=[]):
        try:
            return _count(model, loss_fn, inputs, targets, "meta")
        except (NotImplementedError, RuntimeError, TypeError, ValueError):
            return _count(model, loss_fn, inputs, targets, "execute")


def _signature(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return (tuple(value.shape), value.dtype)
    if isinstance(value, tuple | list):
        return tuple(_signature(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _signature(v)) for k, v in value.items()))
    return type(value).__name__


class FlopCache:
    """:func:`count_step_flops` once per distinct batch shape (and dtype).

    >>> import torch
    >>> cache = FlopCache(torch.nn.Linear(3, 2), torch.nn.functional.mse_loss)
    >>> a = cache.get(torch.zeros(4, 3), torch.zeros(4, 2))
    >>> b = cache.get(torch.ones(4, 3), torch.ones(4, 2))   # same shapes: not counted again
    >>> a is b, len(cache)
    (True, 1)
    """

    def __init__(self, model: nn.Module, loss_fn: LossFn) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self._cache: dict[Any, StepFlops] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def get(self, inputs: Any, targets: Any) -> StepFlops:
        """The step FLOPs for this batch's shapes (counted on first sight)."""
        key = (_signature(inputs), _signature(targets))
        found = self._cache.get(key)
        if found is None:
            found = count_step_flops(self.model, self.loss_fn, inputs, targets)
            self._cache[key] = found
        return found
