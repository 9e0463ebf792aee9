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
    at refresh, record a modular sum of the block's bit patterns
    (:func:`~orbitlearn.healing.bits.modular_checksums`); at verify, recompute and compare.
    Catches every single-bit flip; several flips in one block can cancel: two flips of the same
    bit position in opposite directions (0->1 in one element, 1->0 in another) change the sum by
    ``+2**b - 2**b``. Use it where flips are rare per block and per verification. Reads only the live block at verify time, and needs no copy
    at all when the repair is something else (``keep_copy=False``: gradients are recomputed).

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

import torch

from orbitlearn.errors import InputError
from orbitlearn.healing.bits import (
    _MEMCMP,
    bitwise_equal,
    int_view,
    mismatch_indices,
    modular_checksums,
    read_floats,
)

__all__ = ["ProtectedCopy"]


class ProtectedCopy:
    """A protected copy of named tensor blocks.

    Args:
        blocks: ``(name, tensor)`` pairs; the tensors are the live state (kept by reference).
        method: ``"compare"`` or ``"checksum"`` (see the module docstring).
        keep_copy: keep the copy that :meth:`restore` writes back (``checksum`` only may go
            without: detection alone).

    Raises:
        InputError: for an unknown method, or ``compare`` without a copy.
    """

    def __init__(
        self,
        blocks: Sequence[tuple[str, torch.Tensor]],
        *,
        method: str = "compare",
        keep_copy: bool = True,
    ):
        if method not in ("compare", "checksum"):
            raise InputError("method", method, "one of 'compare', 'checksum'")
        if not keep_copy and method == "compare":
            raise InputError(
                "keep_copy", keep_copy, "True with method 'compare' (it compares with the copy)"
            )
        self.method = method
        self.keep_copy = keep_copy
        self.names: list[str] = []
        self._live: list[torch.Tensor] = []
        self._copies: list[torch.Tensor] = []
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
            for name, c in zip(self.names, self._copies, strict=False)
        }
        self.names = [name for name, _ in blocks]
        self._live = [t.detach() for _, t in blocks]
        self._copies = []
        if self.keep_copy:
            for name, live in zip(self.names, self._live, strict=True):
                copy = old.get((name, tuple(live.shape), live.dtype, live.device))
                self._copies.append(copy if copy is not None else torch.empty_like(live))
        self._set_fast()
        self._sums = []

    def refresh(
        self, live: Sequence[torch.Tensor] | None = None, *, only: Sequence[int] | None = None
    ) -> None:
        """Record the live blocks: copy them (and with ``checksum``, sum them).

        Args:
            live: new live tensors with the same names, shapes and dtypes as the current blocks
                (gradients are new tensors each step); None keeps the current ones.
            only: record just these block indices (the others have not changed since their last
                refresh: frozen parameters); None records all.
        """
        if only is not None and live is None:
            self._refresh_some(only)
            return
        if live is not None:
            tensors = [t.detach() for t in live]
            if len(tensors) != len(self._live) or any(
                t.shape != c.shape or t.dtype != c.dtype
                for t, c in zip(tensors, self._live, strict=True)
            ):
                raise ValueError("refresh(live=...) needs tensors matching the current blocks")
            self._live = tensors
            self._set_fast()
        if self._copies:
            torch._foreach_copy_(self._copies, self._live)
        if self.method == "checksum":
            self._sums = modular_checksums(self._live)

    def _refresh_some(self, only: Sequence[int]) -> None:
        if self.method == "checksum" and len(self._sums) != len(self._live):
            raise RuntimeError("ProtectedCopy.refresh(only=...) before a full refresh")
        live = [self._live[i] for i in only]
        if self._copies and live:
            torch._foreach_copy_([self._copies[i] for i in only], live)
        if self.method == "checksum":
            for i, value in zip(only, modular_checksums(live), strict=True):
                self._sums[i] = value

    def _set_fast(self) -> None:
        """Blocks that ``memcmp`` can compare directly: (live, copy, numel, nbytes) or None."""
        self._fast = []
        if self.method != "compare":
            return
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

    def verify(self, only: Sequence[int] | None = None) -> list[int]:
        """Indices of the blocks whose live bits differ from what was recorded.

        Args:
            only: check just these block indices (None: all).
        """
        indices = range(len(self._live)) if only is None else only
        if self.method == "checksum":
            now = modular_checksums([self._live[i] for i in indices])
            return [i for i, a in zip(indices, now, strict=True) if a != self._sums[i]]
        bad = []
        memcmp = _MEMCMP
        on_device: list[int] = []
        fast_blocks = self._fast
        for index in indices:
            fast = fast_blocks[index]
            if fast is not None and memcmp is not None:
                live, copy, numel, nbytes = fast
                # numel guards against a live tensor resized in place since set_blocks
                if live.numel() == numel:
                    if nbytes and memcmp(live.data_ptr(), copy.data_ptr(), nbytes) != 0:
                        bad.append(index)
                    continue
            live, copy = self._live[index], self._copies[index]
            if live.device.type != "cpu" and live.shape == copy.shape and live.numel():
                on_device.append(index)
            elif not bitwise_equal(live, copy):
                bad.append(index)
        if on_device:  # accelerator blocks: one comparison kernel each, one read-back in all
            flags = [
                torch.ne(
                    int_view(self._live[i].contiguous()), int_view(self._copies[i].contiguous())
                ).any()
                for i in on_device
            ]
            bad += [i for i, differs in zip(on_device, read_floats(flags), strict=True) if differs]
        return sorted(bad)

    def restore(self, indices: Sequence[int]) -> list[tuple[str, int]]:
        """Write the protected bits back into the given live blocks.

        Returns:
            ``(name, number of elements that differed)`` per restored block.

        Raises:
            RuntimeError: the copy was not kept (``keep_copy=False``).
        """
        if not self.keep_copy:
            raise RuntimeError("this ProtectedCopy keeps no copy (keep_copy=False): detect only")
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
