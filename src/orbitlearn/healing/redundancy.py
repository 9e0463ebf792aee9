"""Modular redundancy: the expensive baselines (TMR and DMR).

* :class:`StateReplicas` keeps one (DMR) or two (TMR) replicas of state blocks beside the live
  ones. After every update the replicas are refreshed; after the exposure they are compared
  with the live blocks. With TMR a disagreeing element is out-voted bit by bit
  (:func:`~orbitlearn.healing.bits.bitwise_majority`) and the odd block repaired, whichever of
  the three it is. With DMR a mismatch is detected but cannot be attributed, so the caller
  recovers by other means (the ``dmr`` policy rolls back to its last good snapshot).
* :func:`vote_tensors` votes one block across the results of redundant executions (the
  gradients of two or three forward/backward runs).

Cost: TMR holds two extra copies of the state (+200 % memory, the figure quoted for TMR in
He et al., ISCA 2023) and, with redundant execution, triples the compute of a step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from orbitlearn.errors import InputError
from orbitlearn.healing.bits import bitwise_equal, bitwise_majority, mismatch_indices

__all__ = ["StateReplicas", "VoteResult", "vote_tensors"]


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

    def check(self) -> tuple[list[tuple[str, int]], list[str]]:
        """Compare (and with TMR repair) every block.

        Returns:
            ``(repaired, undecided)``: ``(name, wrong elements in the live block)`` for blocks
            that disagreed and were repaired by the vote, and the names of blocks that
            disagree without a majority (always the case for DMR mismatches).
        """
        repaired: list[tuple[str, int]] = []
        undecided: list[str] = []
        for index, name in enumerate(self.names):
            if self._equal(0, 1, index) and (self.replicas == 1 or self._equal(0, 2, index)):
                continue
            if self.replicas == 1:
                undecided.append(name)
                continue
            live = self._live[index]
            members = [live, self._copies[0][index], self._copies[1][index]]
            result = vote_tensors(members)
            wrong = 0 if 0 not in result.odd else int(mismatch_indices(live, result.value).numel())
            value = result.value.clone() if result.value is live else result.value
            for member in members:
                member.copy_(value)
            repaired.append((name, wrong))
        return repaired, undecided
