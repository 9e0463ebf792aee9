"""Strategy behaviour: rounds, buffers, staleness, scheduling, relay routing, state round trips."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import numpy as np
import pytest

from orbitlearn.errors import CheckpointError, InputError
from orbitlearn.federation import (
    STRATEGIES,
    ContactPlan,
    CoordinateMedian,
    FedAsync,
    FedAvg,
    FedBuff,
    FedProx,
    HingeStaleness,
    ISLRelay,
    ModelUpdate,
    OrbitAware,
    PolynomialStaleness,
    Strategy,
    make_strategy,
    walker_planes,
)

W0 = {"w": np.zeros(3, np.float32), "steps": np.array(0, np.int64)}
_seq = itertools.count(1)


def _always_plan(n: int = 4) -> ContactPlan:
    return ContactPlan(n, np.arange(n), np.zeros(n), np.full(n, 1e9))


def _upd(
    sender: int, base: int, delta, samples: int = 10, kind: str = "delta", **kw
) -> ModelUpdate:
    arrays = {"w": np.asarray(delta, np.float32), "steps": np.array(5, np.int64)}
    return ModelUpdate.from_arrays(
        sender=sender,
        sequence=next(_seq),
        base_version=base,
        num_samples=samples,
        created_time_s=0.0,
        arrays=arrays,
        kind=kind,
        **kw,  # type: ignore[arg-type]
    )


# -- synchronous FedAvg / FedProx --------------------------------------------------------------


def test_fedavg_round_waits_for_every_selected_satellite():
    s = FedAvg(_always_plan(), local_steps=3, learning_rate=0.1)
    s.initialize(W0, 0.0)
    assert s.selected == {0, 1, 2, 3} and s.required_reports == 4
    cfg = s.client_config(1, 1.0, 0)
    assert cfg is not None and (
        cfg.base_version,
        cfg.local_steps,
        cfg.learning_rate,
        cfg.proximal_mu,
    ) == (0, 3, 0.1, 0.0)
    for i, d in enumerate([[1, 0, 0], [0, 2, 0], [0, 0, 3]]):
        assert s.receive(_upd(i, 0, d, samples=10 * (i + 1)), 10.0).accepted
        assert s.poll(10.0) == []
    assert s.client_config(0, 11.0, 0) is None  # already reported
    assert not s.wants_upload(0, 11.0, 0) and s.wants_upload(3, 11.0, 0)
    assert s.receive(_upd(0, 0, [1, 1, 1]), 11.0).reason == "duplicate"
    assert s.receive(_upd(3, 0, [4, 4, 4], samples=40), 12.0).accepted
    (result,) = s.poll(12.0)
    # FedAvg: the num_samples-weighted mean of the deltas (10, 20, 30, 40 samples)
    expected = (np.array([10, 0, 0]) + np.array([0, 40, 0]) + np.array([0, 0, 90]) + 160) / 100
    np.testing.assert_allclose(result.params["w"], expected, rtol=1e-6)
    assert result.version == s.version == 1 and result.contributors == (0, 1, 2, 3)
    assert int(result.params["steps"]) == 5  # integer counters: element-wise max
    # the next round: stale updates are dropped, everyone should download
    assert s.receive(_upd(2, 0, [1, 1, 1]), 13.0).reason == "stale_round"
    assert s.wants_download(2, 13.0, 0) and not s.wants_download(2, 13.0, 1)
    assert s.client_config(2, 13.0, 0) is None and s.client_config(2, 13.0, 1) is not None
    assert s.drops == {"duplicate": 1, "stale_round": 1}


def test_fedavg_fraction_selection_is_seeded_and_timeout_closes_a_round():
    plan = _always_plan(10)
    a = FedAvg(plan, fraction=0.3, seed=7, round_timeout_s=100.0)
    b = FedAvg(plan, fraction=0.3, seed=7, round_timeout_s=100.0)
    a.initialize(W0, 0.0)
    b.initialize(W0, 0.0)
    assert a.selected == b.selected and len(a.selected) == 3
    # the seed really draws the sample: other seeds pick other satellites
    drawn = set()
    for seed in range(6):
        other = FedAvg(plan, fraction=0.3, seed=seed)
        other.initialize(W0, 0.0)
        drawn.add(frozenset(other.selected))
    assert len(drawn) >= 4
    outsider = next(i for i in range(10) if i not in a.selected)
    assert a.receive(_upd(outsider, 0, [1, 1, 1]), 5.0).reason == "not_selected"
    assert a.client_config(outsider, 5.0, 0) is None and not a.wants_download(outsider, 5.0, -1)
    member = min(a.selected)
    assert a.receive(_upd(member, 0, [1, 1, 1]), 5.0).accepted
    assert a.next_wakeup_s(5.0) == 100.0
    assert a.poll(99.0) == []
    (result,) = a.poll(100.0)
    assert result.contributors == (member,)
    assert a.next_wakeup_s(100.0) == 200.0


def test_fedavg_min_fraction():
    s = FedAvg(_always_plan(4), min_fraction=0.5)
    s.initialize(W0, 0.0)
    assert s.required_reports == 2
    s.receive(_upd(0, 0, [1, 1, 1], samples=10), 1.0)
    assert s.poll(1.0) == []
    s.receive(_upd(1, 0, [4, 4, 4], samples=30), 2.0)
    (result,) = s.poll(2.0)  # two of four reports close the round
    assert result.contributors == (0, 1) and result.version == 1
    np.testing.assert_allclose(result.params["w"], (10 * 1 + 30 * 4) / 40, rtol=1e-6)


def test_fedprox_sends_mu():
    s = FedProx(_always_plan(), proximal_mu=0.05)
    s.initialize(W0, 0.0)
    cfg = s.client_config(0, 0.0, 0)
    assert cfg is not None and cfg.proximal_mu == 0.05
    with pytest.raises(
        InputError,
        match=re.escape(
            "Expected `proximal_mu` to be a number > 0, actual: 0. use FedAvg for mu = 0"
        ),
    ):
        FedProx(_always_plan(), proximal_mu=0)


# -- asynchronous --------------------------------------------------------------------------------


def test_fedasync_applies_arrivals_one_at_a_time_with_staleness():
    s = FedAsync(_always_plan(), alpha=0.5, staleness=PolynomialStaleness(1.0))
    s.initialize(W0, 0.0)
    s.receive(_upd(0, 0, [2, 0, 0]), 1.0)
    s.receive(_upd(1, 0, [0, 4, 0]), 1.0)
    results = s.poll(1.0)
    assert [r.version for r in results] == [1, 2]
    # v1 = 0 + 0.5 * 1 * d0; v2 = v1 + 0.5 * (1 + 1)^-1 * d1 (it is now one version stale)
    np.testing.assert_allclose(results[0].params["w"], [1, 0, 0])
    np.testing.assert_allclose(results[1].params["w"], [1, 1, 0])
    assert results[1].staleness == (1,)


def test_fedbuff_buffers_k_updates_and_weighs_staleness():
    s = FedBuff(_always_plan(), buffer_size=3, server_learning_rate=2.0)
    s.initialize(W0, 0.0)
    s.receive(_upd(0, 0, [3, 0, 0], samples=10), 1.0)
    s.receive(_upd(1, 0, [0, 3, 0], samples=20), 1.0)
    assert s.poll(1.0) == [] and s.buffered == 2 and s.next_wakeup_s(1.0) is None
    s.receive(_upd(2, 0, [0, 0, 3], samples=30), 2.0)
    (r1,) = s.poll(2.0)
    np.testing.assert_allclose(r1.params["w"], 2.0 * np.array([30, 60, 90]) / 60, rtol=1e-6)
    # updates trained from version 0 are now 1 stale: weight 1/sqrt(2)
    for i in range(3):
        s.receive(_upd(i, 0, [1, 1, 1]), 3.0)
    (r2,) = s.poll(3.0)
    np.testing.assert_allclose(r2.params["w"] - r1.params["w"], 2.0 / np.sqrt(2.0), rtol=1e-6)
    assert r2.staleness == (1, 1, 1)


def test_fedbuff_max_wait_flushes_a_partial_buffer():
    s = FedBuff(_always_plan(), buffer_size=5, max_wait_s=60.0)
    s.initialize(W0, 0.0)
    s.receive(_upd(0, 0, [1, 1, 1]), 10.0)
    assert s.next_wakeup_s(10.0) == 70.0 and s.poll(69.0) == []
    assert len(s.poll(70.0)) == 1 and s.next_wakeup_s(70.0) is None


def test_max_staleness_and_receive_validation():
    s = FedBuff(_always_plan(), buffer_size=1, max_staleness=1, staleness=HingeStaleness(1.0, 0.0))
    s.initialize(W0, 0.0)
    for t in range(3):
        s.receive(_upd(0, t, [1, 1, 1]), float(t))
        s.poll(float(t))
    assert s.version == 3
    assert not s.wants_upload(1, 5.0, 1) and s.wants_upload(1, 5.0, 2)
    cases = [
        (_upd(1, 0, [1, 1, 1]), "too_stale"),
        (_upd(1, 4, [1, 1, 1]), "future_version"),
        (_upd(1, 3, [1, 1, 1], samples=0), "no_samples"),
        (
            _upd(1, 3, [1, 1, 1], kind="weights").__class__.from_arrays(
                sender=1,
                sequence=next(_seq),
                base_version=3,
                num_samples=1,
                created_time_s=0.0,
                arrays={"w": np.zeros(4, np.float32), "steps": np.array(1)},
            ),
            "layout_mismatch",
        ),
        (_upd(1, 3, [np.nan, 1, 1]), "non_finite"),
        (_upd(1, 2, [1, 1, 1], kind="weights"), "stale_weights"),
        (_upd(9, 3, [1, 1, 1]), "unknown_satellite"),
    ]
    for update, reason in cases:
        assert s.receive(update, 6.0).reason == reason
    assert set(s.drops) == {reason for _, reason in cases}
    # full weights based on the current version are turned into a delta
    current = s.params["w"].copy()
    assert s.receive(_upd(1, 3, current + 2.0, kind="weights"), 7.0).accepted
    (r,) = s.poll(7.0)
    np.testing.assert_allclose(r.params["w"], current + 2.0, rtol=1e-6)


def test_robust_rule_inside_a_strategy_resists_a_byzantine_satellite():
    s = FedBuff(_always_plan(5), buffer_size=5, rule=CoordinateMedian())
    s.initialize(W0, 0.0)
    for i in range(4):
        s.receive(_upd(i, 0, [1.0, 1.0, 1.0]), 1.0)
    s.receive(_upd(4, 0, [1e9, -1e9, 1e9]), 1.0)
    (r,) = s.poll(1.0)
    np.testing.assert_allclose(r.params["w"], [1, 1, 1])


# -- orbit-aware ---------------------------------------------------------------------------------


def _orbit_plan() -> ContactPlan:
    # satellites 0-2 see the ground every 1000 s for 300 s; satellite 3 only after 5 days
    sats, starts = [], []
    for i in range(3):
        for k in range(20):
            sats.append(i)
            starts.append(100.0 * i + 1000.0 * k)
    sats.append(3)
    starts.append(5 * 86_400.0)
    starts_a = np.array(starts)
    return ContactPlan(4, np.array(sats), starts_a, starts_a + 300.0)


def test_orbit_aware_plans_around_satellites_without_contacts():
    plan = _orbit_plan()
    s = OrbitAware(
        plan, train_duration_s=50.0, upload_duration_s=20.0, min_fraction=1.0, grace_s=5.0
    )
    s.initialize(W0, 0.0)
    arrivals = s.predict_arrivals_s(0.0)
    # all hold version 0 at launch: train 50 s, then upload 20 s in the next pass
    # (satellite i's first pass opens at 100 i s)
    np.testing.assert_allclose(arrivals[:3], [70.0, 120.0, 220.0])
    assert arrivals[3] == 5 * 86_400.0 + 20.0  # beyond the one-day horizon
    assert s.expected_satellites == {0, 1, 2} and s.planned_deadline_s == 220.0
    assert s.next_wakeup_s(0.0) == 225.0
    s.receive(_upd(0, 0, [1, 1, 1]), 70.0)
    assert s.poll(70.0) == []
    s.receive(_upd(1, 0, [1, 1, 1]), 120.0)
    s.receive(_upd(2, 0, [1, 1, 1]), 220.0)
    (r,) = s.poll(220.0)  # every expected satellite reported: no need to wait for the grace
    assert r.contributors == (0, 1, 2)
    # next round: the satellites must first download version 1 at their next pass (at 1000 s + i*100)
    assert s.planned_deadline_s is not None and s.planned_deadline_s > 1000.0


def test_orbit_aware_deadline_aggregates_what_has_arrived():
    s = OrbitAware(
        _orbit_plan(), train_duration_s=50.0, upload_duration_s=20.0, min_fraction=1.0, grace_s=5.0
    )
    s.initialize(W0, 0.0)
    s.receive(_upd(0, 0, [1, 1, 1]), 70.0)
    assert s.poll(224.0) == []
    (r,) = s.poll(225.0)
    assert r.contributors == (0,)


def test_orbit_aware_rate_criterion_stops_after_a_burst():
    # three satellites arrive close together, a fourth much later: a low min_fraction closes
    # the round after the burst instead of waiting for the straggler
    starts = np.array([0.0, 30.0, 60.0, 20_000.0])
    plan = ContactPlan(4, np.arange(4), starts, starts + 300.0)
    s = OrbitAware(
        plan, train_duration_s=10.0, upload_duration_s=10.0, min_fraction=0.25, grace_s=0.0
    )
    s.initialize(W0, 0.0)
    np.testing.assert_allclose(s.predict_arrivals_s(0.0), [20.0, 40.0, 70.0, 20_010.0])
    # rates with the default 30 s round overhead: 1/50, 2/70, 3/100, 4/20040
    assert s.expected_satellites == {0, 1, 2} and s.planned_deadline_s == 70.0
    eager = OrbitAware(
        plan, train_duration_s=10.0, upload_duration_s=10.0, min_fraction=0.25, round_overhead_s=0.0
    )
    eager.initialize(W0, 0.0)
    assert eager.expected_satellites == {0}


def test_orbit_aware_knows_a_pass_carries_only_so_many_uploads():
    # satellite 0 reports at 70 s in its pass [0, 300) and receives a model at 71 s: with no
    # limit it could deliver again in this pass, with one upload per pass only in the next
    for limit, expected in ((None, 71.0 + 50.0 + 20.0), (1, 1000.0 + 20.0)):
        s = OrbitAware(
            _orbit_plan(),
            train_duration_s=50.0,
            upload_duration_s=20.0,
            min_fraction=0.25,
            uploads_per_pass=limit,
        )
        s.initialize(W0, 0.0)
        s.receive(_upd(0, 0, [1, 1, 1]), 70.0)
        s.on_download(0, s.version, 71.0)
        assert s.predict_arrivals_s(71.0)[0] == pytest.approx(expected)
        if limit is not None:
            restored = OrbitAware(
                _orbit_plan(),
                train_duration_s=50.0,
                upload_duration_s=20.0,
                min_fraction=0.25,
                uploads_per_pass=limit,
            )
            restored.load_state_dict(s.state_dict())
            assert restored.predict_arrivals_s(71.0)[0] == pytest.approx(expected)
    with pytest.raises(
        InputError,
        match=re.escape("Expected `uploads_per_pass` to be an integer >= 1 or None, actual: 0"),
    ):
        OrbitAware(_orbit_plan(), uploads_per_pass=0)


# -- ISL relay ------------------------------------------------------------------------------------


def test_isl_relay_routes_towards_the_plane_member_that_meets_the_ground_first():
    # plane of 6 in a ring; only satellite 4 has a ground contact soon, satellite 1 much later
    plan = ContactPlan(
        6, np.array([4, 1]), np.array([1000.0, 50_000.0]), np.array([1600.0, 50_600.0])
    )
    s = ISLRelay(plan, planes=[list(range(6))], hop_duration_s=10.0, upload_duration_s=60.0)
    s.initialize(W0, 0.0)
    assert s.sink(0, 0.0) == 4
    assert s.relay_target(0, 0.0) == 5  # 0 -> 5 -> 4 is shorter than 0 -> 1 -> 2 -> 3 -> 4
    assert s.relay_target(3, 0.0) == 4
    assert s.relay_target(4, 0.0) is None  # it is the sink
    assert s.relay_target(4, 1200.0) is None  # in contact
    assert s.relay_target(0, 2000.0) == 1  # after 4's pass, satellite 1 is the way down
    assert ISLRelay.relays_global and s.plane_of(3) == 0
    with pytest.raises(
        InputError,
        match="Expected `planes` to be non-empty lists that together hold each satellite",
    ):
        ISLRelay(plan, planes=[[0, 1, 2], [2, 3, 4, 5]])


def test_walker_planes_and_line_topology():
    assert walker_planes(2, 2) == [[0, 1], [2, 3]]
    plan = ContactPlan(4, np.array([3]), np.array([100.0]), np.array([400.0]))
    s = ISLRelay(plan, planes=[[0, 1, 2, 3]], ring=False)
    s.initialize(W0, 0.0)
    assert s.relay_target(0, 0.0) == 1 and s.relay_target(2, 0.0) == 3


# -- registry, validation, state -----------------------------------------------------------------


def test_registry_and_parameter_errors():
    plan = _always_plan()
    by_name = make_strategy("fedbuff", plan, buffer_size=2)
    assert isinstance(by_name, FedBuff) and by_name.config()["buffer_size"] == 2
    built = make_strategy(
        "fedasync",
        plan,
        rule="trimmed_mean",
        trim_fraction=0.2,
        staleness="hinge",
        staleness_params={"a": 2.0, "b": 1.0},
    )
    assert built.config()["rule"] == {"name": "trimmed_mean", "trim_fraction": 0.2}
    assert built.config()["staleness"] == {"name": "hinge", "a": 2.0, "b": 1.0}
    assert make_strategy("fedavg", plan, max_norm=3.0).config()["rule"]["name"] == "clip"
    with pytest.raises(InputError, match="Expected `strategy` to be one of"):
        make_strategy("scaffold", plan)
    with pytest.raises(InputError, match="Expected `strategy `fedbuff` parameters`"):
        make_strategy("fedbuff", plan, window=3)
    with pytest.raises(InputError, match="Expected `buffer_size` to be an integer >= 1, actual: 0"):
        FedBuff(plan, buffer_size=0)
    with pytest.raises(
        InputError, match=r"Expected `fraction` to be a number in \(0, 1\], actual: 1.5"
    ):
        FedAvg(plan, fraction=1.5)
    with pytest.raises(
        InputError,
        match=re.escape("Expected `learning_rate` to be a finite number > 0, actual: -0.1"),
    ):
        FedAsync(plan, learning_rate=-0.1)
    with pytest.raises(InputError, match="Expected `sat_id` to be a satellite index in"):
        FedAsync(plan).wants_download(4, 0.0, 0)
    with pytest.raises(InputError, match="Expected `strategy state` to be initialize"):
        FedAsync(plan).receive(_upd(0, 0, [1, 1, 1]), 0.0)


def _build(name: str, plan: ContactPlan) -> Strategy:
    extra: dict[str, Any] = {
        "fedavg": {"fraction": 0.75, "min_fraction": 0.5, "round_timeout_s": 500.0, "seed": 3},
        "fedprox": {"proximal_mu": 0.1},
        "fedasync": {"alpha": 0.4},
        "fedbuff": {"buffer_size": 2, "max_wait_s": 100.0},
        "orbit_aware": {"train_duration_s": 50.0, "upload_duration_s": 20.0},
        "isl_relay": {"planes": [[0, 1], [2, 3]], "buffer_size": 2},
    }[name]
    return STRATEGIES[name](plan, **extra)


def _feed(s: Strategy, rng: np.random.Generator, t0: float, n: int) -> list:
    out = []
    for k in range(n):
        t = t0 + 37.0 * k
        sat = int(rng.integers(0, 4))
        base = max(0, s.version - int(rng.integers(0, 2)))
        s.on_download(sat, s.version, t)
        s.receive(_upd(sat, base, rng.normal(size=3)), t)
        out.extend((r.version, r.params["w"].tobytes()) for r in s.poll(t))
        wake = s.next_wakeup_s(t)
        if wake is not None and wake < t + 37.0:
            out.extend((r.version, r.params["w"].tobytes()) for r in s.poll(wake))
    return out


def _to_json(state: Any) -> str:
    def default(obj: Any) -> Any:
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        raise TypeError(type(obj).__name__)

    return json.dumps(state, default=default)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_state_dict_round_trip_resumes_exactly(name):
    plan = _orbit_plan()
    a = _build(name, plan)
    a.initialize(W0, 0.0)
    _feed(a, np.random.default_rng(0), 0.0, 9)
    state = a.state_dict()
    _to_json(state)  # only JSON values and numpy arrays
    b = _build(name, plan)
    b.load_state_dict(state)
    assert b.version == a.version and b.buffered == a.buffered
    rest_a = _feed(a, np.random.default_rng(1), 1000.0, 12)
    rest_b = _feed(b, np.random.default_rng(1), 1000.0, 12)
    assert rest_a == rest_b and len(rest_a) > 0
    assert a.state_dict()["drops"] == b.state_dict()["drops"]
    np.testing.assert_array_equal(a.params["w"], b.params["w"])


def test_loading_a_state_into_a_different_strategy_fails():
    plan = _always_plan()
    a = FedBuff(plan, buffer_size=2)
    a.initialize(W0, 0.0)
    with pytest.raises(CheckpointError, match="Strategy state was saved with configuration"):
        FedBuff(plan, buffer_size=3).load_state_dict(a.state_dict())
    with pytest.raises(
        CheckpointError,
        match=r"Strategy state was saved with configuration \{'name': 'fedbuff'.*"
        r"this strategy is \{'name': 'fedasync'",
    ):
        FedAsync(plan).load_state_dict(a.state_dict())
    # a refused state leaves the target untouched: it can still be initialised and used
    b = FedAsync(plan)
    with pytest.raises(CheckpointError):
        b.load_state_dict(a.state_dict())
    b.initialize(W0, 0.0)
    assert b.version == 0 and b.receive(_upd(0, 0, [1, 1, 1]), 1.0).accepted
