"""Faults inside the forward pass: which modules are hooked, and out-of-place corruption.

Activation upsets (a bit flipped in the memory holding a layer's output) and compute errors
(a wrong value produced by the arithmetic of a layer) both reach training as a corrupted layer
output. The injector's forward hooks never change a tensor they were given: they return a
corrupted *copy* of the module's output, so

- the caller's input batch, and any view of it, stay bit-identical (a module such as
  ``nn.Identity`` or ``nn.Flatten`` returns its input or a view of it: corrupting that in place
  would reach back into the caller's tensor);
- autograd still works: the copy is made with ``clone`` inside the graph, the upset is written
  into the copy without recording, and the gradient flows through it as through the fault-free
  output (the upset acts as a constant offset, which is what hardware does).

>>> import torch
>>> model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
>>> leaf_module_names(model), compute_module_names(model)
(['0', '1'], ['0'])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from orbitlearn.errors import InputError
from orbitlearn.faults.bitflip import FlipResult, flip_bits

__all__ = [
    "compute_module_names",
    "corrupted_copy",
    "leaf_module_names",
    "resolve_modules",
]


def leaf_module_names(model: nn.Module) -> list[str]:
    """Qualified names of modules without children (where activations are produced).

    The model itself counts when it has no children.
    """
    return [name for name, module in model.named_modules() if not any(module.children())]


def compute_module_names(model: nn.Module) -> list[str]:
    """Leaf modules with their own parameters: the layers that do arithmetic (Linear, Conv...)."""
    return [
        name
        for name, module in model.named_modules()
        if not any(module.children()) and any(True for _ in module.parameters(recurse=False))
    ]


def resolve_modules(model: nn.Module, names: Sequence[str]) -> list[tuple[str, nn.Module]]:
    """Look modules up by qualified name.

    Raises:
        InputError: a name that is not a module of ``model`` (the message lists some that are).
    """
    modules = dict(model.named_modules())
    found: list[tuple[str, nn.Module]] = []
    for name in names:
        if name not in modules:
            known = ", ".join(repr(n) for n in list(modules)[:12])
            raise InputError("activation_modules", name, f"names of modules of the model ({known})")
        found.append((name, modules[name]))
    return found


def corrupted_copy(
    tensor: torch.Tensor, flat_index: ArrayLike, bit: ArrayLike, n_bits: ArrayLike = 1
) -> tuple[torch.Tensor, FlipResult]:
    """A copy of ``tensor`` with bits flipped; ``tensor`` itself is untouched.

    The copy keeps the original's strides and, when autograd is recording and ``tensor`` is
    part of a graph, stays in the graph (the gradient passes through the copy unchanged).

    >>> x = torch.ones(2, requires_grad=True)
    >>> y, result = corrupted_copy(x * 1, [0], [31])
    >>> y.tolist(), x.tolist(), y.requires_grad
    ([-1.0, 1.0], [1.0, 1.0], True)
    """
    copy = tensor.clone()
    result = flip_bits(copy, np.asarray(flat_index), np.asarray(bit), n_bits=np.asarray(n_bits))
    return copy, result
