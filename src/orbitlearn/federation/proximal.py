"""FedProx's proximal term for the onboard trainer's loss.

FedProx (Li et al., MLSys 2020, arXiv:1812.06127) minimises, on each client,
``loss(w) + mu / 2 * ||w - w_global||^2`` where ``w_global`` is the global model the local
training started from. The onboard trainer adds :func:`proximal_term` to its loss whenever
:attr:`~orbitlearn.federation.strategies.base.LocalTrainingConfig.proximal_mu` is > 0::

    reference = global_reference(model, client.params)   # once per local training
    loss = criterion(model(x), y) + proximal_term(model, reference, cfg.proximal_mu)

Only trainable floating-point parameters (``model.named_parameters()`` with ``requires_grad``)
enter the term; buffers (BatchNorm statistics) do not. torch is imported here, never by the
numpy-only parts of :mod:`orbitlearn.federation`.

>>> import torch
>>> model = torch.nn.Linear(2, 1, bias=False)
>>> with torch.no_grad():
...     _ = model.weight.fill_(1.0)
>>> ref = {"weight": torch.zeros(1, 2)}
>>> float(proximal_term(model, ref, mu=0.5).detach())  # 0.5 / 2 * (1 + 1)
0.5
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from orbitlearn.errors import InputError

__all__ = ["global_reference", "proximal_term"]


def global_reference(
    model: torch.nn.Module, global_params: Mapping[str, Any]
) -> dict[str, torch.Tensor]:
    """The global weights of ``model``'s trainable parameters as detached tensors.

    Converts once (numpy arrays or tensors) to each parameter's dtype and device, so that
    :func:`proximal_term` costs one subtraction per parameter per step.

    Raises:
        InputError: a trainable parameter is missing from ``global_params`` or has another shape.
    """
    out: dict[str, torch.Tensor] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if name not in global_params:
            raise InputError("global_params", f"no `{name}`", "every trainable parameter")
        value = global_params[name]
        tensor = (
            value.detach()
            if isinstance(value, torch.Tensor)
            else torch.from_numpy(np.asarray(value))
        )
        if tuple(tensor.shape) != tuple(param.shape):
            raise InputError(
                f"global_params[{name!r}] shape", tuple(tensor.shape), f"{tuple(param.shape)}"
            )
        out[name] = tensor.to(dtype=param.dtype, device=param.device).clone()
    return out


def proximal_term(
    model: torch.nn.Module, reference: Mapping[str, torch.Tensor], mu: float
) -> torch.Tensor:
    """``mu / 2 * sum ||w - w_ref||^2`` over ``model``'s trainable parameters (differentiable).

    Args:
        model: the model being trained.
        reference: global weights by parameter name (from :func:`global_reference`; tensors
            of the parameters' shapes).
        mu: the FedProx coefficient (>= 0); 0 returns a zero tensor.

    Raises:
        InputError: ``mu`` is negative or not finite, or a parameter is missing.
    """
    if not isinstance(mu, (int, float)) or isinstance(mu, bool) or not np.isfinite(mu) or mu < 0:
        raise InputError("mu", mu, "a finite number >= 0")
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    device = params[0][1].device if params else torch.device("cpu")
    total = torch.zeros((), device=device)
    if mu == 0:
        return total
    for name, param in params:
        if name not in reference:
            raise InputError("reference", f"no `{name}`", "every trainable parameter")
        total = total + torch.sum((param - reference[name]) ** 2)
    return 0.5 * mu * total
