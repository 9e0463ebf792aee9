"""Modular redundancy: the expensive baselines (TMR and DMR).

* :class:`StateReplicas` keeps one (DMR) or two (TMR) replicas of state blocks beside the live
  ones. After every update the replicas are refreshed; after the exposure they are compared
  with the live blocks. With TMR a disagreeing element is out-voted bit by bit
  (:func:`~orbitlearn.healing.bits.bitwise_majority`) and the odd block repaired, whichever of
  the three it is. With DMR two copies cannot out-vote each other; the tie is broken where the
  values show which copy is wrong (:func:`break_tie`: at every differing element exactly one
  copy holds a NaN/inf or a magnitude beyond the block's learned range, as an exponent-bit
  upset leaves it); otherwise the mismatch is reported undecided and the caller recovers by
  other means (the ``dmr`` policy rolls back to its last good snapshot).
* :func:`vote_tensors` votes one block across the results of redundant executions (the
  gradients of two or three forward/backward runs).

Cost: TMR holds two extra copies of the state (+200 % memory, the figure quoted for TMR in
He et al., ISCA 2023) and, with redundant execution, triples the compute of a step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from orbitlearn.errors import InputError
from orbitlearn.healing.bits import bitwise_equal, bitwise_majority, mismatch_indices

__all__ = ["StateReplicas", "VoteResult", "break_tie", "vote_tensors"]


class VoteResult:
    """The outcome of voting one block.

    Attributes:
        value: the voted tensor (one of the inputs when two agree; a new tensor otherwise).
        agreed: whether all replicas agreed bit for bit.
        odd: indices of replicas that disagreed with the vote.
        decided: False when only two replicas were given and they differ (DMR: no majority).
    """

    __slots__ = ("agreed", "decided", "odd", "value")

    def __init__(self, value: torch.Tensor, agreed: bool, odd: list[int], decided: bool) -> None:
        self.value = value
        self.agreed = agreed
        self.odd = odd
        self.decided = decided


def vote_tensors(replicas: Sequence[torch.Tensor]) -> VoteResult:
    """Vote 2 or 3 replicas of one block, comparing first and voting bits only on mismatch.

    >>> import torch
    >>> a = torch.tensor([1.0, 2.0])
    >>> r = vote_tensors([a, a.clone(), torch.tensor([1.0, 9.0])])
    >>> r.agreed, r.odd, r.value.tolist()
    (False, [2], [1.0, 2.0])
    """
    if len(replicas) not in (2, 3):
        raise ValueError(f"vote_tensors needs 2 or 3 replicas, got {len(replicas)}")
    a, b = replicas[0], replicas[1]
    ab = bitwise_equal(a, b)
    if len(replicas) == 2:
        return VoteResult(a, ab, [] if ab else [0, 1], ab)
    c = replicas[2]
    if ab:
        if bitwise_equal(a, c):
            return VoteResult(a, True, [], True)
        return VoteResult(a, False, [2], True)
    if bitwise_equal(a, c):
        return VoteResult(a, False, [1], True)
    if bitwise_equal(b, c):
        return VoteResult(b, False, [0], True)
    voted = bitwise_majority([a, b, c])
    odd = [i for i, r in enumerate(replicas) if not bitwise_equal(r, voted)]
    return VoteResult(voted, False, odd, True)


def break_tie(a: torch.Tensor, b: torch.Tensor, limit: float = math.inf) -> torch.Tensor | None:
    """Decide between two disagreeing copies of a block (DMR) from their values.

    At each element where the bits differ, a copy is *implausible* if it holds a NaN/inf or a
    magnitude above ``limit``. If at every such element exactly one copy is implausible, the
    other one is right there: the result takes, element by element, the plausible value (so an
    upset in either copy, or upsets in both at different elements, are repaired). Otherwise -
    a mantissa or low-exponent upset leaves both plausible - there is no basis for a choice.

    Args:
        a, b: the two copies (same shape and dtype).
        limit: the largest plausible magnitude (a learned range, or inf: only NaN/inf decide).

    Returns:
        The repaired block (a new tensor), or None when the tie cannot be broken (integer
        blocks always).

    >>> import torch
    >>> live = torch.tensor([1.0, float("inf"), 3.0])
    >>> replica = torch.tensor([1.0, 2.0, 3.0])
    >>> break_tie(live, replica).tolist()
    [1.0, 2.0, 3.0]
    >>> print(break_tie(torch.tensor([1.0]), torch.tensor([1.5])))  # both plausible
    None
    """
    if not a.is_floating_point():
        return None
    differ = mismatch_indices(a, b)
    if differ.numel() == 0:
        return a.detach().clone()
    va = a.detach().reshape(-1)[differ]
    vb = b.detach().reshape(-1)[differ]
    bad_a = ~torch.isfinite(va) | (va.abs() > limit)
    bad_b = ~torch.isfinite(vb) | (vb.abs() > limit)
    if not bool((bad_a ^ bad_b).all()):
        return None
    result = a.detach().clone()
    result.reshape(-1)[differ] = torch.where(bad_a, vb, va)
    return result


class StateReplicas:
    """One or two replicas of named state blocks, compared (and voted) after each exposure.

    Args:
        blocks: ``(name, live tensor)`` pairs.
        replicas: 1 (DMR: detect only) or 2 (TMR: detect and out-vote).
    """

    def __init__(self, blocks: Sequence[tuple[str, torch.Tensor]], *, replicas: int = 2):
        if replicas not in (1, 2):
            raise InputError("replicas", replicas, "1 (DMR) or 2 (TMR)")
        self.replicas = replicas
        self.names: list[str] = []
        self._live: list[torch.Tensor] = []
        self._copies: list[list[torch.Tensor]] = []
        self.set_blocks(blocks)

    @property
    def nbytes(self) -> int:
        """Bytes held by the replicas."""
        return sum(c.numel() * c.element_size() for copies in self._copies for c in copies)

    def set_blocks(self, blocks: Sequence[tuple[str, torch.Tensor]]) -> None:
        """Point at a new list of live blocks (content undefined until :meth:`refresh`)."""
        self.names = [n for n, _ in blocks]
        self._live = [t.detach() for _, t in blocks]
        self._copies = [[torch.empty_like(t) for t in self._live] for _ in range(self.replicas)]

    def refresh(self) -> None:
        """Copy the live blocks into every replica."""
        for copies in self._copies:
            if self._live:
                torch._foreach_copy_(copies, self._live)

    def _equal(self, r1: int, r2: int, index: int) -> bool:
        tensors = [self._live, *self._copies]
        return bitwise_equal(tensors[r1][index], tensors[r2][index])

    def check(
        self,
        only: Sequence[int] | None = None,
        *,
        limit_of: Callable[[str], float] | None = None,
    ) -> tuple[list[tuple[str, int]], list[str]]:
        """Compare (and repair where possible) the blocks.

        Args:
            only: check just these block indices (None: all).
            limit_of: DMR only: the largest plausible magnitude of a block, by name, for
                :func:`break_tie` (None: only NaN/inf decide).

        Returns:
            ``(repaired, undecided)``: ``(name, wrong elements in the live block)`` for blocks
            that disagreed and were repaired (TMR vote, or a DMR tie broken by the values), and
            the names of blocks that disagree without a way to tell which copy is right.
        """
        repaired: list[tuple[str, int]] = []
        undecided: list[str] = []
        for index in range(len(self.names)) if only is None else only:
            name = self.names[index]
            if self._equal(0, 1, index) and (self.replicas == 1 or self._equal(0, 2, index)):
                continue
            live = self._live[index]
            if self.replicas == 1:
                limit = math.inf if limit_of is None else limit_of(name)
                value = break_tie(live, self._copies[0][index], limit)
                if value is None:
                    undecided.append(name)
                    continue
                members = [live, self._copies[0][index]]
            else:
                members = [live, self._copies[0][index], self._copies[1][index]]
                value = vote_tensors(members).value
                if value is live:
                    value = value.clone()
            wrong = int(mismatch_indices(live, value).numel())
            for member in members:
                member.copy_(value)
            repaired.append((name, wrong))
        return repaired, undecided
