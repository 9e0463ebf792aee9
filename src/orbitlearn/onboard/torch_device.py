"""Where tensors live: a torch device named by the user, checked before any work starts.

>>> parse_torch_device("torch_device", "cpu")
device(type='cpu')
>>> parse_torch_device("torch_device", "gpu")
Traceback (most recent call last):
...
orbitlearn.errors.InputError: Expected `torch_device` to be a torch device such as cpu or cuda, actual: 'gpu'
"""

from __future__ import annotations

import torch
from torch import nn

from orbitlearn.errors import InputError

__all__ = ["model_device", "parse_torch_device"]


def parse_torch_device(field: str, value: str) -> torch.device:
    """The torch device ``value`` names (``cpu``, ``cuda``, ``cuda:1``...).

    Raises:
        InputError: naming ``field``: not a device name, or a CUDA device on a machine
            without CUDA.
    """
    try:
        where = torch.device(value)
    except (RuntimeError, TypeError):
        raise InputError(field, value, "a torch device such as cpu or cuda") from None
    if where.type == "cuda" and not torch.cuda.is_available():
        raise InputError(field, value, "cpu (CUDA is not available)")
    return where


def model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters (or, without any, its buffers) live; ``cpu`` for a model
    with neither.

    >>> model_device(torch.nn.Linear(2, 1)), model_device(torch.nn.ReLU())
    (device(type='cpu'), device(type='cpu'))
    """
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")
