"""Mission events and a deterministic priority queue.

Events are ordered by time, then by the order they were scheduled in (a sequence number), so
two runs that schedule the same events in the same order pop them in the same order, whatever
the payloads are. The queue round-trips through :meth:`EventQueue.state_dict` for mission
checkpoints.

>>> q = EventQueue()
>>> _ = q.push(20.0, EventKind.WAKEUP)
>>> _ = q.push(10.0, EventKind.CONTACT_START, sat=1)
>>> _ = q.push(10.0, EventKind.CONTACT_START, sat=0)
>>> [(e.time_s, e.sat) for e in (q.pop(), q.pop(), q.pop())]
[(10.0, 1), (10.0, 0), (20.0, -1)]
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["Event", "EventKind", "EventQueue"]


class EventKind(StrEnum):
    """What happens at an event (the handlers live in :mod:`orbitlearn.mission.engine`)."""

    CONTACT_START = "contact_start"  #: a satellite's ground contact (any station) opens
    CONTACT_END = "contact_end"  #: ... and closes
    ECLIPSE_START = "eclipse_start"  #: the satellite enters the Earth's shadow
    ECLIPSE_END = "eclipse_end"
    SAA_START = "saa_start"  #: the satellite enters the South Atlantic Anomaly
    SAA_END = "saa_end"
    SLICE_DONE = "slice_done"  #: a training slice ends (or a reset interrupts it)
    RECOVERED = "recovered"  #: a satellite is back after a reset
    BATTERY_READY = "battery_ready"  #: the battery should allow training again
    UPLOAD_DONE = "upload_done"  #: an update frame reached the ground
    DOWNLOAD_DONE = "download_done"  #: a global model reached a satellite (ground or ISL)
    RELAY_DONE = "relay_done"  #: an update frame reached a neighbour over an ISL
    WAKEUP = "wakeup"  #: the strategy asked to be polled
    SNAPSHOT = "snapshot"  #: record the periodic metrics row
    CHECKPOINT = "checkpoint"  #: save the mission state
    END = "end"  #: end of the mission


@dataclass(order=True)
class Event:
    """One scheduled event (ordered by ``(time_s, seq)``).

    Attributes:
        time_s: when, ``unix_s``.
        seq: scheduling order (ties at equal times pop in this order).
        kind: what happens.
        sat: the satellite concerned (-1: none).
        data: kind-specific payload (picklable).
    """

    time_s: float
    seq: int
    kind: EventKind = field(compare=False)
    sat: int = field(default=-1, compare=False)
    data: Any = field(default=None, compare=False)


class EventQueue:
    """A heap of :class:`Event` ordered by time then scheduling order."""

    def __init__(self) -> None:
        self._heap: list[Event] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, time_s: float, kind: EventKind, *, sat: int = -1, data: Any = None) -> Event:
        """Schedule an event; returns it (its ``seq`` identifies it)."""
        event = Event(float(time_s), self._seq, kind, int(sat), data)
        self._seq += 1
        heapq.heappush(self._heap, event)
        return event

    def pop(self) -> Event:
        """Remove and return the next event. Raises IndexError when empty."""
        return heapq.heappop(self._heap)

    def peek_time_s(self) -> float | None:
        """Time of the next event (``None`` when empty)."""
        return self._heap[0].time_s if self._heap else None

    def events(self) -> list[Event]:
        """The pending events in pop order (a sorted copy)."""
        return sorted(self._heap)

    def state_dict(self) -> dict[str, Any]:
        """Pending events and the sequence counter (payloads as they are)."""
        return {
            "seq": self._seq,
            "events": [(e.time_s, e.seq, e.kind.value, e.sat, e.data) for e in self.events()],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self._seq = int(state["seq"])
        self._heap = [Event(t, s, EventKind(k), sat, d) for t, s, k, sat, d in state["events"]]
        heapq.heapify(self._heap)
