"""Protected copies of tensor blocks: bit-exact detection and restore.

A :class:`ProtectedCopy` keeps a second copy of a list of tensor *blocks* (one block per
parameter, buffer, optimizer-state tensor or gradient). :meth:`~ProtectedCopy.refresh` copies
the live tensors into it right after they were legitimately written (after the optimizer step;
after backward for gradients); :meth:`~ProtectedCopy.verify` finds the blocks whose live bits
changed since; :meth:`~ProtectedCopy.restore` writes the protected bits back, so the repaired
state is bit-identical to the state before the upset.

The copy stands for state kept in protected memory (ECC or radiation-hardened SRAM, or a
scrubbed region): fault injectors bind to the live model and optimizer and never touch it.

Two detection methods, both exact for any single-bit upset per block:

``"compare"`` (default)
    compare the live block with the copy bit for bit (:func:`~orbitlearn.healing.bits.bitwise_equal`:
    ``memcmp`` on CPU, ``torch.equal`` on integer views elsewhere). Catches every difference.
``"checksum"``
    at refresh, record the sum of the block's integer view (int64, exact); at verify, recompute
    and compare. Catches every single-bit flip; two flips of the same bit position in opposite
    directions inside one block cancel. Slower than ``compare`` on CPU (see
    ``bench/healing_overhead.py``) and kept for comparison and for devices where a second read
    of the copy is costly.

>>> import torch
>>> w = torch.randn(4)
>>> guard = ProtectedCopy([("w", w)])
>>> guard.refresh()
>>> before = w.clone()
>>> w.view(torch.int32)[2] ^= 1 << 30   # an exponent-bit upset
>>> guard.verify()
[0]
>>> guard.restore([0])
[('w', 1)]
>>> bool(torch.equal(w.view(torch.int32), before.view(torch.int32)))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from orbitlearn.errors import InputError
from orbitlearn.healing.bits import _MEMCMP, bitwise_equal, int_view, mismatch_indices

__all__ = ["ProtectedCopy"]


def _fast_view(tensor: torch.Tensor) -> np.ndarray | None:
    """A numpy integer view for contiguous CPU tensors, else None (slow path)."""
    if tensor.device.type != "cpu" or not tensor.is_contiguous():
        return None
    return int_view(tensor).numpy()


class ProtectedCopy:
    """A protected copy of named tensor blocks.

    Args:
        blocks: ``(name, tensor)`` pairs; the tensors are the live state (kept by reference).
        method: ``"compare"`` or ``"checksum"`` (see the module docstring).

    Raises:
        InputError: for an unknown method.
    """

    def __init__(self, blocks: Sequence[tuple[str, torch.Tensor]], *, method: str = "compare"):
        if method not in ("compare", "checksum"):
            raise InputError("method", method, "one of 'compare', 'checksum'")
        self.method = method
        self.names: list[str] = []
        self._live: list[torch.Tensor] = []
        self._copies: list[torch.Tensor] = []
        self._live_np: list[np.ndarray | None] = []
        self._sums: list[int] = []
        self._fast: list[tuple[torch.Tensor, torch.Tensor, int, int] | None] = []
        self.set_blocks(blocks)

    @property
    def nbytes(self) -> int:
        """Bytes held by the protected copy."""
        return sum(c.numel() * c.element_size() for c in self._copies)

    def set_blocks(self, blocks: Sequence[tuple[str, torch.Tensor]]) -> None:
        """Point the copy at a (possibly new) list of live blocks; buffers are reused by shape.

        The copy's content is undefined until the next :meth:`refresh`.
        """
        old = {
            (name, tuple(c.shape), c.dtype, c.device): c
            for name, c in zip(self.names, self._copies, strict=True)
        }
        self.names = [name for name, _ in blocks]
        self._live = [t.detach() for _, t in blocks]
        self._copies = []
        for name, live in zip(self.names, self._live, strict=True):
            key = (name, tuple(live.shape), live.dtype, live.device)
            copy = old.get(key)
            self._copies.append(copy if copy is not None else torch.empty_like(live))
        self._live_np = [_fast_view(t) for t in self._live] if self.method == "checksum" else []
        self._set_fast()
        self._sums = []

    def refresh(self, live: Sequence[torch.Tensor] | None = None) -> None:
        """Copy the live blocks into the protected copy.

        Args:
            live: new live tensors with the same names, shapes and dtypes as the current blocks
                (gradients are new tensors each step); None keeps the current ones.
        """
        if live is not None:
            tensors = [t.detach() for t in live]
            if len(tensors) != len(self._copies) or any(
                t.shape != c.shape or t.dtype != c.dtype
                for t, c in zip(tensors, self._copies, strict=True)
            ):
                raise ValueError("refresh(live=...) needs tensors matching the current blocks")
            self._live = tensors
            if self.method == "checksum":
                self._live_np = [_fast_view(t) for t in tensors]
            self._set_fast()
        if self._live:
            torch._foreach_copy_(self._copies, self._live)
        if self.method == "checksum":
            self._sums = [self._checksum(i) for i in range(len(self._live))]

    def _checksum(self, index: int) -> int:
        view = self._live_np[index]
        if view is not None:
            return int(view.sum(dtype=np.int64))
        return int(int_view(self._live[index].contiguous()).sum(dtype=torch.int64))

    def _set_fast(self) -> None:
        """Blocks that ``memcmp`` can compare directly: (live, copy, numel, nbytes) or None."""
        self._fast = []
        for live, copy in zip(self._live, self._copies, strict=True):
            ok = (
                _MEMCMP is not None
                and live.device.type == "cpu"
                and live.is_contiguous()
                and copy.is_contiguous()
                and live.shape == copy.shape
                and live.dtype == copy.dtype
            )
            nbytes = live.numel() * live.element_size()
            self._fast.append((live, copy, live.numel(), nbytes) if ok else None)

    def _equal(self, index: int) -> bool:
        return bitwise_equal(self._live[index], self._copies[index])

    def verify(self) -> list[int]:
        """Indices of the blocks whose live bits differ from the protected copy."""
        if self.method == "checksum":
            return [i for i, s in enumerate(self._sums) if self._checksum(i) != s]
        bad = []
        memcmp = _MEMCMP
        for index, fast in enumerate(self._fast):
            if fast is not None and memcmp is not None:
                live, copy, numel, nbytes = fast
                # numel guards against a live tensor resized in place since set_blocks
                if live.numel() == numel and (
                    nbytes == 0 or memcmp(live.data_ptr(), copy.data_ptr(), nbytes) == 0
                ):
                    continue
                if live.numel() == numel:
                    bad.append(index)
                    continue
            if not self._equal(index):
                bad.append(index)
        return bad

    def restore(self, indices: Sequence[int]) -> list[tuple[str, int]]:
        """Write the protected bits back into the given live blocks.

        Returns:
            ``(name, number of elements that differed)`` per restored block.
        """
        restored = []
        for index in indices:
            live, copy = self._live[index], self._copies[index]
            wrong = int(mismatch_indices(live, copy).numel())
            live.copy_(copy)
            restored.append((self.names[index], wrong))
        return restored

    def tensors(self) -> list[torch.Tensor]:
        """The protected copies (read-only use: voting, snapshots)."""
        return list(self._copies)
