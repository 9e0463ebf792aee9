import random

from orbitlearn.mission.events import EventKind, EventQueue


def test_events_pop_by_time_then_scheduling_order():
    q = EventQueue()
    rng = random.Random(0)
    times = [rng.choice([0.0, 1.0, 2.0, 2.0, 3.5]) for _ in range(200)]
    for k, t in enumerate(times):
        q.push(t, EventKind.WAKEUP, sat=k)
    popped = [q.pop() for _ in range(len(times))]
    assert [(e.time_s, e.sat) for e in popped] == sorted(
        ((t, k) for k, t in enumerate(times)), key=lambda item: (item[0], item[1])
    )


def test_same_pushes_give_the_same_pops_whatever_the_payload():
    def run(payloads: list[object]) -> list[tuple[float, int]]:
        q = EventQueue()
        for k, payload in enumerate(payloads):
            q.push(float(k % 3), EventKind.SLICE_DONE, sat=k, data=payload)
        return [(e.time_s, e.sat) for e in (q.pop() for _ in range(len(payloads)))]

    assert run([None] * 9) == run([{"big": list(range(k))} for k in range(9)])


def test_queue_state_round_trip_continues_identically():
    q = EventQueue()
    for k in range(10):
        q.push(10.0 - k, EventKind.CONTACT_START, sat=k, data=k)
    q.pop()
    copy = EventQueue()
    copy.load_state_dict(q.state_dict())
    for queue in (q, copy):
        queue.push(5.0, EventKind.WAKEUP)
    assert [(e.time_s, e.seq, e.kind, e.sat) for e in (q.pop() for _ in range(len(q)))] == [
        (e.time_s, e.seq, e.kind, e.sat) for e in (copy.pop() for _ in range(len(copy)))
    ]
