"""Naming the state of a training job as tensor blocks.

A *block* is one tensor of state with a stable name, spelled as the fault injector spells the
tensors it hits (:attr:`orbitlearn.faults.FaultEvent.tensor`), so detections and injected
events can be matched by name:

* ``<name>`` - a model parameter or buffer (``model.named_parameters()``/``named_buffers()``),
* ``optimizer.state.<param name>.<key>`` - one tensor of optimizer state (Adam's ``exp_avg``,
  ``exp_avg_sq`` and ``step``; SGD's ``momentum_buffer``); a parameter the model does not name
  is called ``param_groups.<g>.params.<i>``,
* ``<param name>.grad`` - a gradient (used by the gradient checks).

Detectors and repairs work block by block, so a report can say which tensor was hit.

>>> import torch
>>> model = torch.nn.Linear(2, 1)
>>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> model(torch.ones(1, 2)).sum().backward(); opt.step()
>>> [name for name, _ in state_blocks(model, opt)]
['weight', 'bias', 'optimizer.state.weight.momentum_buffer', 'optimizer.state.bias.momentum_buffer']
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["optimizer_state_size", "parameter_names", "state_blocks", "trainable_parameters"]


def trainable_parameters(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The parameters an optimizer updates, in group order, without duplicates."""
    seen: set[int] = set()
    params = []
    for group in optimizer.param_groups:
        for p in group["params"]:
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    return params


def optimizer_state_size(optimizer: torch.optim.Optimizer) -> int:
    """Number of tensors in the optimizer state (changes when lazy state is created)."""
    return sum(
        sum(isinstance(v, torch.Tensor) for v in state.values())
        for state in optimizer.state.values()
    )


def parameter_names(model: nn.Module, optimizer: torch.optim.Optimizer) -> list[str]:
    """Names of the optimizer's parameters (see the module docstring), in group order."""
    names = {id(p): n for n, p in model.named_parameters()}
    found: list[str] = []
    seen: set[int] = set()
    for g, group in enumerate(optimizer.param_groups):
        for i, p in enumerate(group["params"]):
            if id(p) not in seen:
                seen.add(id(p))
                found.append(names.get(id(p), f"param_groups.{g}.params.{i}"))
    return found


def state_blocks(
    model: nn.Module, optimizer: torch.optim.Optimizer | None
) -> list[tuple[str, torch.Tensor]]:
    """All parameters, buffers and optimizer-state tensors as named blocks.

    Args:
        model: the model.
        optimizer: its optimizer (None: model state only).

    Returns:
        ``(name, tensor)`` pairs; the tensors are the live objects (not copies).
    """
    blocks: list[tuple[str, torch.Tensor]] = list(model.named_parameters())
    blocks += list(model.named_buffers())
    if optimizer is not None:
        params = trainable_parameters(optimizer)
        for name, p in zip(parameter_names(model, optimizer), params, strict=True):
            state = optimizer.state.get(p)
            if not state:
                continue
            for key, value in state.items():
                if isinstance(value, torch.Tensor):
                    blocks.append((f"optimizer.state.{name}.{key}", value))
    return blocks
