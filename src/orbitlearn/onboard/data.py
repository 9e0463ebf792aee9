"""The data contract of the onboard trainer, with a resumable position.

The trainer takes ``data`` in one of three forms and draws ``(inputs, targets)`` batches from it:

1. :class:`ResumableBatches` (recommended): mini-batches over in-memory tensors or a map-style
   dataset, shuffled per epoch by a permutation seeded from ``(seed, epoch)``. Its position is
   ``(epoch, offset)`` and resuming is O(1): no batch is re-read.
2. A :class:`torch.utils.data.DataLoader` or any *re-iterable* (``iter(data)`` starts a new pass:
   a list of batches, a Dataset-backed loader). Each pass is an epoch. The position is
   ``(epoch, offset)`` plus the random state the pass started with (the global torch RNG, from
   which a loader without a generator draws its shuffle seed, and the states of the loader's and
   sampler's generators), so a resumed pass yields the same order; resuming re-creates the pass
   and skips ``offset`` batches.
3. A one-shot iterator (``iter(data) is data``, e.g. a generator): batches are drawn until it is
   exhausted, which ends training. Its position cannot be rewound, so it cannot be resumed in a
   new process and a reset does not rewind it (a checkpoint restore raises
   :class:`~orbitlearn.errors.CheckpointError` if asked to move it).

Each batch must be an ``(inputs, targets)`` pair (tuple or list of two); ``inputs`` may be a
tensor or a tuple of tensors passed positionally to the model.

>>> import torch
>>> data = ResumableBatches(torch.arange(10.0).reshape(10, 1), torch.arange(10), batch_size=4, seed=0)
>>> stream = BatchStream(data)
>>> [stream.next_batch()[1].tolist() for _ in range(3)]  # epoch 0: 4 + 4 + 2
[[4, 1, 7, 5], [3, 9, 0, 8], [6, 2]]
>>> stream.state_dict()["epoch"], stream.state_dict()["offset"]  # all 3 batches of epoch 0
(0, 3)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch

from orbitlearn.errors import CheckpointError, DataError, InputError

__all__ = ["BatchStream", "ResumableBatches"]

Batch = tuple[Any, Any]
_GOLDEN = 0x9E3779B97F4A7C15  # odd 64-bit constant to spread (seed, epoch) pairs


class ResumableBatches:
    """Seeded, resumable mini-batches over tensors or a map-style dataset.

    Args:
        inputs: a tensor whose first dimension indexes samples, or a map-style dataset whose
            items are ``(input, target)`` pairs (then ``targets`` must be None).
        targets: a tensor of targets aligned with ``inputs`` (None with a dataset).
        batch_size: samples per batch (>= 1).
        seed: seed of the per-epoch shuffles.
        shuffle: shuffle each epoch (False: in order).
        drop_last: drop the last, short batch of each epoch.

    Raises:
        InputError: for a bad batch size, misaligned tensors or an empty dataset.
    """

    def __init__(
        self,
        inputs: Any,
        targets: torch.Tensor | None = None,
        *,
        batch_size: int,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InputError("batch_size", batch_size, "an integer >= 1")
        if isinstance(inputs, torch.Tensor):
            if not isinstance(targets, torch.Tensor):
                raise InputError("targets", type(targets).__name__, "a tensor aligned with inputs")
            if inputs.shape[0] != targets.shape[0]:
                raise InputError(
                    "targets",
                    f"{targets.shape[0]} samples",
                    f"as many samples as inputs ({inputs.shape[0]})",
                )
            self._length = int(inputs.shape[0])
        else:
            if targets is not None:
                raise InputError("targets", "a tensor", "None when inputs is a dataset of pairs")
            try:
                self._length = len(inputs)
            except TypeError:
                raise InputError(
                    "inputs", type(inputs).__name__, "a tensor or a map-style dataset with len()"
                ) from None
        if self._length == 0:
            raise InputError("inputs", "0 samples", "at least one sample")
        self.inputs = inputs
        self.targets = targets
        self.batch_size = batch_size
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        if drop_last and self._length < batch_size:
            raise InputError(
                "batch_size",
                batch_size,
                f"<= the number of samples ({self._length}) with drop_last",
            )

    def __len__(self) -> int:
        """Batches per epoch."""
        full, rest = divmod(self._length, self.batch_size)
        return full if (self.drop_last or rest == 0) else full + 1

    def order(self, epoch: int) -> torch.Tensor:
        """The sample order of ``epoch`` (int64 indices)."""
        if not self.shuffle:
            return torch.arange(self._length)
        generator = torch.Generator().manual_seed((self.seed * _GOLDEN + epoch) % (1 << 63))
        return torch.randperm(self._length, generator=generator)

    def batch(self, epoch: int, offset: int, order: torch.Tensor | None = None) -> Batch:
        """Batch ``offset`` of ``epoch``."""
        order = self.order(epoch) if order is None else order
        index = order[offset * self.batch_size : (offset + 1) * self.batch_size]
        if isinstance(self.inputs, torch.Tensor):
            assert self.targets is not None
            return self.inputs[index], self.targets[index]
        items = [self.inputs[int(i)] for i in index]
        collated = torch.utils.data.default_collate(items)
        return _as_pair(collated)


def _as_pair(batch: Any) -> Batch:
    if isinstance(batch, tuple | list) and len(batch) == 2:
        return batch[0], batch[1]
    shown = type(batch).__name__
    if isinstance(batch, tuple | list):
        shown = f"{shown} of length {len(batch)}"
    raise DataError(f"Expected each batch to be an (inputs, targets) pair, actual: {shown}")


def _generators(data: Any) -> list[torch.Generator]:
    """Generators a DataLoader-like object shuffles with (loader, sampler, batch sampler)."""
    found: list[torch.Generator] = []
    candidates = [
        getattr(data, "generator", None),
        getattr(getattr(data, "sampler", None), "generator", None),
        getattr(getattr(getattr(data, "batch_sampler", None), "sampler", None), "generator", None),
    ]
    for g in candidates:
        if isinstance(g, torch.Generator) and all(g is not f for f in found):
            found.append(g)
    return found


class BatchStream:
    """Draws batches from any supported ``data`` and keeps a resumable position.

    Attributes:
        epoch: passes completed over the data.
        offset: batches drawn in the current pass.
        batches_drawn: batches drawn in total.
    """

    def __init__(self, data: Any) -> None:
        if isinstance(data, BatchStream):
            raise InputError("data", "a BatchStream", "the underlying data (BatchStream wraps it)")
        self.data = data
        self.epoch = 0
        self.offset = 0
        self.batches_drawn = 0
        self._resumable = isinstance(data, ResumableBatches)
        self._order: torch.Tensor | None = None
        self._iterator: Iterator[Any] | None = None
        self._epoch_rng: torch.Tensor | None = None
        self._epoch_generators: list[torch.Tensor] = []
        self.exhausted = False
        self._peeked: Batch | None = None
        if not self._resumable:
            if not isinstance(data, Iterable):
                raise InputError(
                    "data",
                    type(data).__name__,
                    "a ResumableBatches, a DataLoader or an iterable of (inputs, targets) batches",
                )
            self.one_shot = iter(data) is data
            if self.one_shot:
                self._iterator = iter(data)
        else:
            self.one_shot = False

    # ------------------------------------------------------------------ drawing
    def peek(self) -> Batch | None:
        """The next batch without consuming it (None when a one-shot iterator is exhausted).

        The saved position (:meth:`state_dict`) does not count a peeked batch, so a resumed
        stream yields it again.
        """
        if self._peeked is None:
            self._peeked = self._draw()
        return self._peeked

    def advance(self) -> None:
        """Consume the peeked batch."""
        if self._peeked is None:
            raise RuntimeError("BatchStream.advance() without a peeked batch")
        self._peeked = None

    def next_batch(self) -> Batch | None:
        """The next batch, consumed (see :meth:`peek`)."""
        batch = self.peek()
        if batch is not None:
            self.advance()
        return batch

    def _start_pass(self) -> None:
        self._epoch_rng = torch.get_rng_state()
        self._epoch_generators = [g.get_state() for g in _generators(self.data)]
        self._iterator = iter(self.data)

    def _draw(self) -> Batch | None:
        """The next ``(inputs, targets)`` batch, or None when a one-shot iterator is exhausted.

        Raises:
            DataError: a batch is not a pair, or a re-iterable yields no batch in a whole pass.
        """
        if self._resumable:
            data: ResumableBatches = self.data
            if self.offset >= len(data):
                self.epoch, self.offset, self._order = self.epoch + 1, 0, None
            if self._order is None:
                self._order = data.order(self.epoch)
            batch = data.batch(self.epoch, self.offset, self._order)
            self.offset += 1
            self.batches_drawn += 1
            return batch
        if self.exhausted:
            return None
        if self._iterator is None:
            self._start_pass()
        assert self._iterator is not None
        try:
            raw = next(self._iterator)
        except StopIteration:
            if self.one_shot:
                self.exhausted = True
                return None
            if self.offset == 0:
                raise DataError("the data yielded no batch in a whole pass (it is empty)") from None
            self.epoch, self.offset = self.epoch + 1, 0
            self._start_pass()
            try:
                raw = next(self._iterator)
            except StopIteration:
                raise DataError("the data yielded no batch in a whole pass (it is empty)") from None
        self.offset += 1
        self.batches_drawn += 1
        return _as_pair(raw)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """The position (and, for re-iterables, the random state of the current pass)."""
        peeked = int(self._peeked is not None)
        state: dict[str, Any] = {
            "kind": "resumable"
            if self._resumable
            else ("one_shot" if self.one_shot else "iterable"),
            "epoch": self.epoch,
            "offset": self.offset - peeked,
            "batches_drawn": self.batches_drawn - peeked,
            "exhausted": self.exhausted and not peeked,
        }
        if not self._resumable and not self.one_shot:
            state["epoch_rng"] = None if self._epoch_rng is None else self._epoch_rng.clone()
            state["epoch_generators"] = [g.clone() for g in self._epoch_generators]
        return state

    def load_state_dict(self, state: dict[str, Any], *, rewind_one_shot: bool = True) -> None:
        """Move to a saved position.

        Args:
            state: what :meth:`state_dict` returned.
            rewind_one_shot: with a one-shot iterator, raise if the position would have to move
                (False: keep drawing where the iterator is, as after a device reset).

        Raises:
            CheckpointError: the saved position is of another kind of data, or a one-shot
                iterator would have to move.
        """
        kind = "resumable" if self._resumable else ("one_shot" if self.one_shot else "iterable")
        if state.get("kind") != kind:
            raise CheckpointError(
                f"the checkpoint's data position is for {state.get('kind')!r} data, "
                f"but the trainer was given {kind!r} data"
            )
        epoch, offset = int(state["epoch"]), int(state["offset"])
        if self.one_shot:
            moved = int(state["batches_drawn"]) != self.batches_drawn - int(
                self._peeked is not None
            )
            if moved and rewind_one_shot:
                raise CheckpointError(
                    f"the data is a one-shot iterator at batch {self.batches_drawn}; it cannot move "
                    f"to batch {int(state['batches_drawn'])}. Pass a re-iterable (a list or a "
                    "DataLoader) or ResumableBatches to resume training"
                )
            return
        self._peeked = None
        self.epoch, self.offset = epoch, offset
        self.batches_drawn = int(state["batches_drawn"])
        self.exhausted = bool(state.get("exhausted", False))
        self._order = None
        if self._resumable:
            return
        self._iterator = None
        epoch_rng = state.get("epoch_rng")
        if epoch_rng is None:
            return
        current = torch.get_rng_state()
        generators = _generators(self.data)
        saved = list(state.get("epoch_generators", []))
        if len(saved) != len(generators):
            raise CheckpointError(
                f"the checkpoint saved {len(saved)} data generator states, the data has "
                f"{len(generators)}"
            )
        torch.set_rng_state(epoch_rng)
        for g, s in zip(generators, saved, strict=True):
            g.set_state(s)
        self._epoch_rng = epoch_rng.clone()
        self._epoch_generators = [s.clone() for s in saved]
        self._iterator = iter(self.data)
        try:
            for _ in range(offset):
                next(self._iterator)
        except StopIteration:
            raise CheckpointError(
                f"the data has fewer than {offset} batches in a pass; it is not the data the "
                "checkpoint was taken with"
            ) from None
        finally:
            torch.set_rng_state(current)
