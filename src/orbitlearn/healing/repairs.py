"""Repairs that put state back: in-memory snapshots for rollback.

The cheaper repairs live where their detectors are: restoring a block from its protected copy
(:meth:`orbitlearn.healing.protected.ProtectedCopy.restore`), voting replicas
(:mod:`orbitlearn.healing.redundancy`), and re-executing or skipping a step
(:class:`orbitlearn.healing.Healing`). Rolling back to the last good *disk* checkpoint is the
onboard trainer's job (:class:`orbitlearn.onboard.OnboardTrainer`), since it also rewinds the
data position.

A :class:`StateSnapshot` is the last known-good state of the model and optimizer held in memory,
taken after a clean range scan. Restoring it writes the saved bits back *in place*, so every
reference to the live tensors (the optimizer's, a fault injector's, a protected copy's) stays
valid, and the restored state is bit-identical to the snapshot.

>>> import torch
>>> model = torch.nn.Linear(2, 1)
>>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
>>> snap = StateSnapshot.capture(model, opt, step=0)
>>> with torch.no_grad():
...     _ = model.weight.fill_(float("nan"))
>>> snap.restore(model, opt)  # names of blocks it did not cover
[]
>>> bool(torch.isfinite(model.weight).all())
True
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from orbitlearn.healing.blocks import state_blocks, trainable_parameters

__all__ = ["StateSnapshot"]


class StateSnapshot:
    """A bit-exact, in-memory copy of model and optimizer state.

    Attributes:
        step: the training step the snapshot belongs to.
        names: block names saved (see :func:`~orbitlearn.healing.blocks.state_blocks`).
    """

    def __init__(
        self,
        step: int,
        tensors: dict[str, torch.Tensor],
        extras: list[dict[str, Any]],
    ) -> None:
        self.step = step
        self._tensors = tensors
        self._extras = extras

    @property
    def names(self) -> list[str]:
        return list(self._tensors)

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self._tensors.values())

    @classmethod
    def capture(
        cls,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        step: int,
        reuse: StateSnapshot | None = None,
    ) -> StateSnapshot:
        """Copy the current state (tensors cloned; non-tensor optimizer state deep-copied).

        Args:
            model, optimizer: whose state to copy.
            step: the step the snapshot belongs to.
            reuse: an older snapshot to overwrite (its tensors are reused where names, shapes
                and dtypes match: no allocation, no fresh pages to fault in); it is returned.
        """
        blocks = state_blocks(model, optimizer)
        old = {} if reuse is None else reuse._tensors
        tensors: dict[str, torch.Tensor] = {}
        sources, targets = [], []
        for name, t in blocks:
            saved = old.get(name)
            if (
                saved is not None
                and saved.shape == t.shape
                and saved.dtype == t.dtype
                and saved.device == t.device
            ):
                sources.append(t.detach())
                targets.append(saved)
                tensors[name] = saved
                continue
            tensors[name] = t.detach().clone()
        if targets:
            torch._foreach_copy_(targets, sources)
        extras = []
        for p in trainable_parameters(optimizer):
            state = optimizer.state.get(p, {})
            extras.append(
                {k: copy.deepcopy(v) for k, v in state.items() if not isinstance(v, torch.Tensor)}
            )
        if reuse is None:
            return cls(step, tensors, extras)
        reuse.step, reuse._tensors, reuse._extras = step, tensors, extras
        return reuse

    def restore(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> list[str]:
        """Write the snapshot back in place.

        Hyperparameters (learning rate, ...) are not touched: they belong to the schedule, not
        to the state an upset can corrupt. Blocks created after the snapshot (none, for standard
        optimizers after their first step) are left as they are and their names returned.

        Returns:
            Names of live blocks the snapshot did not cover.
        """
        uncovered = []
        with torch.no_grad():
            for name, live in state_blocks(model, optimizer):
                saved = self._tensors.get(name)
                if saved is None or saved.shape != live.shape or saved.dtype != live.dtype:
                    uncovered.append(name)
                    continue
                live.copy_(saved)
        for p, extra in zip(trainable_parameters(optimizer), self._extras, strict=False):
            if extra:
                optimizer.state[p].update(copy.deepcopy(extra))
        return uncovered
