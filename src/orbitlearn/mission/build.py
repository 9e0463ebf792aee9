"""From a :class:`~orbitlearn.mission.config.MissionConfig` to the objects of a mission.

:func:`build_mission` resolves every name in the configuration (power bus, device, memory,
healing policy, strategy, workload, stations), builds the constellation and the mission's
:class:`~orbitlearn.space.timeline.Timeline` (contacts, eclipses, SAA, radiation and power on
one grid), the workload's data shards, the training context the executors ship, the link model
and the key ring, and checks the constraints that span several fields. Every problem is a
:class:`~orbitlearn.errors.ConfigError` naming the field, the value and what is allowed.

Stateful parts (strategy, ground server, satellite clients, batteries) are made fresh by the
``make_*`` methods of :class:`MissionBuild`, so an engine can be built again and loaded from a
checkpoint.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from orbitlearn.errors import ConfigError, InputError
from orbitlearn.federation import (
    GROUND_SENDER_ID,
    ContactPlan,
    FederationClient,
    FederationServer,
    KeyRing,
    ModelUpdate,
    Strategy,
    UpdateCompressor,
    frame_size_bytes,
    make_strategy,
)
from orbitlearn.federation.tensors import NamedArrays, state_dict_to_arrays
from orbitlearn.mission.battery import BatteryBank
from orbitlearn.mission.config import MissionConfig, to_toml
from orbitlearn.mission.jobs import TrainingContext
from orbitlearn.mission.links import LinkModel, LinkRates
from orbitlearn.mission.workload import MissionWorkload, check_picklable, resolve_workload
from orbitlearn.space.constellation import Constellation
from orbitlearn.space.power import POWER_PRESETS, PowerSystem, resolve_power
from orbitlearn.space.radiation import RadiationConfig
from orbitlearn.space.radiation_presets import DEVICE_PRESETS as RESET_PRESETS
from orbitlearn.space.radiation_presets import MEMORY_PRESETS
from orbitlearn.space.stations import GroundStation, resolve_stations
from orbitlearn.space.timeline import Timeline
from orbitlearn.space.timescale import DAY_S, parse_utc_iso

__all__ = ["MissionBuild", "build_mission", "strategy_registry_name"]

#: Config names of strategies -> :data:`orbitlearn.federation.STRATEGIES` names.
_STRATEGY_NAMES = {
    "fedavg": "fedavg",
    "fedprox": "fedprox",
    "fedasync": "fedasync",
    "fedbuff": "fedbuff",
    "orbit-aware": "orbit_aware",
    "isl-relay": "isl_relay",
}


def strategy_registry_name(config_name: str) -> str:
    """The federation registry name of a configured strategy (``isl-relay`` -> ``isl_relay``)."""
    return _STRATEGY_NAMES[config_name]


def _known(names: Any) -> str:
    return "one of " + ", ".join(repr(str(n)) for n in names)


@dataclass
class MissionBuild:
    """Everything a mission run needs, resolved from its configuration.

    Attributes:
        config: the resolved configuration.
        constellation, stations, timeline: the space segment and its environment.
        workload: what is learned; ``context`` what training jobs share.
        device: the onboard computer's profile; ``power`` the satellites' power system.
        plan: contact plan for the strategy; ``links`` the link model.
        planes: satellites per orbital plane, in ring order (``None`` if unknown).
        start_s, end_s: mission span, ``unix_s``.
        step_flops, step_seconds, step_joules: one nominal training step.
        update_bytes, global_bytes: frame sizes of an update and of a global model.
        faults_enabled: whether radiation faults (upsets and resets) are simulated.
        notes: facts about this mission worth printing (e.g. ISLs that never open).
    """

    config: MissionConfig
    constellation: Constellation
    stations: tuple[GroundStation, ...]
    timeline: Timeline
    workload: MissionWorkload
    context: TrainingContext
    device: Any
    power: PowerSystem
    plan: ContactPlan
    links: LinkModel
    planes: list[list[int]] | None
    start_s: float
    end_s: float
    step_flops: int
    step_seconds: float
    step_joules: float
    update_bytes: int
    global_bytes: int
    faults_enabled: bool
    initial_params: NamedArrays
    notes: list[str] = field(default_factory=list)

    @property
    def n_sats(self) -> int:
        return len(self.constellation)

    def mission_secret(self) -> bytes:
        """The simulation's key-derivation secret (from the mission name and seed)."""
        text = f"orbitlearn-mission/{self.config.name}/{self.config.seed}"
        return hashlib.sha256(text.encode()).digest()

    def make_keyring(self) -> KeyRing:
        return KeyRing(self.mission_secret(), satellite_ids=range(self.n_sats))

    def make_strategy(self) -> Strategy:
        """A fresh strategy as configured."""
        config = self.config
        s = config.strategy
        name = strategy_registry_name(s.name)
        params: dict[str, Any] = {
            "local_steps": s.local_steps,
            "learning_rate": config.workload.learning_rate,
            "rule": s.aggregation.replace("-", "_"),
            "trim_fraction": s.trim_fraction,
            "max_norm": s.clip_norm,
        }
        staleness: dict[str, Any] = {"staleness": s.staleness}
        if s.staleness == "polynomial":
            staleness["staleness_params"] = {"a": s.staleness_exponent}
        down_s = self.global_bytes * 8.0 / config.links.uplink_bps + config.links.acquisition_s
        up_s = self.update_bytes * 8.0 / config.links.downlink_bps + config.links.acquisition_s
        train_s = max(s.local_steps * self.step_seconds, 1e-6)
        if name in ("fedavg", "fedprox"):
            params.update(
                fraction=s.clients_per_round,
                seed=config.seed,
                server_learning_rate=s.server_learning_rate,
                round_timeout_s=None if s.round_timeout_h is None else s.round_timeout_h * 3600.0,
            )
            if s.min_fraction is not None:
                params["min_fraction"] = s.min_fraction
            if name == "fedprox":
                params["proximal_mu"] = s.proximal_mu
        elif name == "fedasync":
            params.update(alpha=s.mixing, **staleness)
        elif name == "fedbuff":
            params.update(
                buffer_size=s.buffer_size,
                max_wait_s=None if s.max_wait_h is None else s.max_wait_h * 3600.0,
                server_learning_rate=s.server_learning_rate,
                **staleness,
            )
        elif name == "orbit_aware":
            params.update(
                train_duration_s=train_s,
                upload_duration_s=up_s,
                download_duration_s=down_s,
                uploads_per_pass=config.links.exchanges_per_pass or None,
                server_learning_rate=s.server_learning_rate,
                **staleness,
            )
            if s.min_fraction is not None:
                params["min_fraction"] = s.min_fraction
        elif name == "isl_relay":
            assert self.planes is not None
            hop_s = self.update_bytes * 8.0 / config.links.isl_bps + config.links.isl_acquisition_s
            params.update(
                planes=self.planes,
                hop_duration_s=hop_s,
                upload_duration_s=up_s,
                buffer_size=1,  # a plane update already combines a plane: aggregate each
                max_wait_s=None if s.max_wait_h is None else s.max_wait_h * 3600.0,
                server_learning_rate=s.server_learning_rate,
                **staleness,
            )
        try:
            return make_strategy(name, self.plan, **params)
        except InputError as exc:
            raise ConfigError(f"strategy ({exc.field})", exc.value, exc.allowed) from None

    def make_server(self, strategy: Strategy, keyring: KeyRing) -> FederationServer:
        return FederationServer(strategy, keyring)

    def make_compressor(self) -> UpdateCompressor:
        u = self.config.updates
        return UpdateCompressor(
            topk_fraction=u.topk_fraction,
            quantization="int8-symmetric" if u.quantize_int8 else "none",
        )

    def make_clients(self, keyring: KeyRing) -> list[FederationClient]:
        """One federation endpoint per satellite (with neighbour keys for ISL relay)."""
        plane_of: dict[int, list[int]] = {}
        if self.config.strategy.name == "isl-relay" and self.planes is not None:
            for plane in self.planes:
                for sat in plane:
                    plane_of[sat] = plane
        clients = []
        for i in range(self.n_sats):
            relay = keyring.restricted_to(plane_of[i]) if i in plane_of else None
            clients.append(
                FederationClient(
                    i,
                    keyring.restricted_to([i, GROUND_SENDER_ID]),
                    compressor=self.make_compressor(),
                    relay_keyring=relay,
                )
            )
        return clients

    def make_battery(self) -> BatteryBank:
        return BatteryBank(
            self.timeline.unix_s,
            self.timeline.power_in_w,
            self.timeline.sunlit_fraction,
            self.power,
            float(self.device.power_w["idle"]),
        )


def _config_error(field_name: str, exc: InputError) -> ConfigError:
    return ConfigError(field_name, exc.value, exc.allowed, hint=exc.hint)


def _constellation(config: MissionConfig, start_s: float) -> Constellation:
    from orbitlearn.space.omm import load_omm
    from orbitlearn.space.tle import load_tle
    from orbitlearn.space.walker import (
        MAX_ALTITUDE_M,
        MIN_ALTITUDE_M,
        parse_walker_spec,
        walker_constellation,
    )

    c = config.constellation
    if c.kind == "walker":
        try:
            total, planes, phasing = parse_walker_spec(c.walker, field="constellation.walker")
        except InputError as exc:
            raise _config_error("constellation.walker", exc) from None
        altitude_m = c.altitude_km * 1e3
        if not MIN_ALTITUDE_M <= altitude_m <= MAX_ALTITUDE_M:
            raise ConfigError(
                "constellation.altitude_km",
                c.altitude_km,
                f"a number in [{MIN_ALTITUDE_M / 1e3:g}, {MAX_ALTITUDE_M / 1e3:g}]",
            )
        try:
            shell = walker_constellation(
                total,
                planes,
                phasing,
                altitude_m=altitude_m,
                inclination_deg=c.inclination_deg,
                pattern=c.pattern,
                epoch_unix_s=start_s,
            )
        except InputError as exc:
            raise _config_error(f"constellation ({exc.field})", exc) from None
    else:
        if not c.path:
            raise ConfigError(
                "constellation.path", c.path, f"a {c.kind.upper()} file for kind = {c.kind!r}"
            )
        shell = load_tle(c.path) if c.kind == "tle" else load_omm(c.path)
    if c.max_satellites is not None and c.max_satellites < len(shell):
        shell = shell.subset(list(range(c.max_satellites)))
    return shell


def _planes(constellation: Constellation) -> list[list[int]] | None:
    if constellation.planes is None:
        return None
    planes: dict[int, list[int]] = {}
    for sat, plane in enumerate(constellation.planes):
        planes.setdefault(int(plane), []).append(sat)
    return [planes[p] for p in sorted(planes)]


def _ring_pairs(planes: list[list[int]]) -> np.ndarray:
    pairs = set()
    for plane in planes:
        n = len(plane)
        for k in range(n if n > 2 else n - 1):
            a, b = plane[k], plane[(k + 1) % n]
            pairs.add((min(a, b), max(a, b)))
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def _merge(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    out_s: list[float] = []
    out_e: list[float] = []
    for a, b in zip(s.tolist(), e.tolist(), strict=True):
        if out_e and a <= out_e[-1]:
            out_e[-1] = max(out_e[-1], b)
        else:
            out_s.append(a)
            out_e.append(b)
    return np.array(out_s), np.array(out_e)


def build_mission(
    config: MissionConfig,
    *,
    timeline: Timeline | None = None,
    workload: MissionWorkload | None = None,
    progress: Callable[[float], None] | None = None,
) -> MissionBuild:
    """Resolve ``config`` into a :class:`MissionBuild` (see the module docstring).

    Args:
        config: the mission configuration.
        timeline: a timeline already computed for this configuration (a resumed run reloads
            the one it saved); default: build it.
        workload: a workload object to use instead of ``workload.name`` (the Python API's way
            to bring your own model and data; it must have one shard per satellite).
        progress: called with the fraction of the timeline computed.

    Raises:
        ConfigError: an unknown name or values that do not fit together.
    """
    from orbitlearn.faults.targets import validate_targets
    from orbitlearn.onboard import DEVICE_PRESETS, get_device  # compute devices
    from orbitlearn.onboard.flops import count_step_flops

    sat_cfg = config.satellite
    if sat_cfg.bus not in POWER_PRESETS:
        raise ConfigError("satellite.bus", sat_cfg.bus, _known(POWER_PRESETS))
    if sat_cfg.device not in DEVICE_PRESETS:
        raise ConfigError("satellite.device", sat_cfg.device, _known(DEVICE_PRESETS))
    if config.faults.memory not in MEMORY_PRESETS:
        raise ConfigError("faults.memory", config.faults.memory, _known(MEMORY_PRESETS))
    if config.faults.resets not in RESET_PRESETS:
        raise ConfigError("faults.resets", config.faults.resets, _known(RESET_PRESETS))
    try:
        targets = validate_targets(config.faults.targets)
    except InputError as exc:
        raise _config_error("faults.targets", exc) from None
    if not config.updates.sign:
        raise ConfigError(
            "updates.sign",
            False,
            "true (the ground segment rejects unsigned updates)",
            hint="A signature costs 32 bytes per frame",
        )
    try:
        start_s = parse_utc_iso(config.time.start)
    except InputError as exc:
        raise _config_error("time.start", exc) from None
    duration_s = config.time.days * DAY_S
    end_s = start_s + duration_s

    constellation = _constellation(config, start_s)
    try:
        stations = resolve_stations(config.ground.stations, config.ground.networks)
    except InputError as exc:
        field_name = "ground.networks" if exc.field == "--network" else "ground.stations"
        raise _config_error(field_name, exc) from None
    if not stations:
        raise ConfigError(
            "ground.stations", [], "at least one station (or a network in ground.networks)"
        )
    planes = _planes(constellation)
    strategy_name = config.strategy.name
    if strategy_name == "isl-relay" and planes is None:
        raise ConfigError(
            "strategy.name",
            strategy_name,
            "a strategy that needs no orbital planes",
            hint="isl-relay needs planes: use a Walker constellation (constellation.kind = "
            "'walker'), whose planes are known",
        )

    faults_enabled = config.faults.acceleration > 0
    radiation = RadiationConfig(
        memory=config.faults.memory,
        device=config.faults.resets,
        acceleration=config.faults.acceleration if faults_enabled else 1.0,
    )
    device = get_device(sat_cfg.device)
    power = POWER_PRESETS[sat_cfg.bus]
    if sat_cfg.initial_soc is not None:
        battery = power.battery
        if not battery.soc_min <= sat_cfg.initial_soc <= battery.soc_max:
            raise ConfigError(
                "satellite.initial_soc",
                sat_cfg.initial_soc,
                f"a number in [{battery.soc_min:g}, {battery.soc_max:g}] (the limits of the "
                f"{sat_cfg.bus} battery)",
            )
        power = resolve_power(
            {"preset": sat_cfg.bus, "battery": {"initial_soc": sat_cfg.initial_soc}}
        )
    if timeline is None:
        try:
            timeline = Timeline.build(
                constellation,
                stations,
                start_s,
                duration_s,
                step_s=config.time.step_s,
                radiation=radiation,
                power=power,
                min_elevation_deg=config.ground.min_elevation_deg,
                progress=progress,
            )
        except InputError as exc:
            if isinstance(exc, ConfigError):
                raise
            raise _config_error(f"timeline ({exc.field})", exc) from None
    notes: list[str] = []

    # ISL windows of the ring neighbours (the relay strategy's links)
    isl_windows: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] | None = {}
    isl_table = None
    if strategy_name == "isl-relay" and planes is not None:
        pairs = _ring_pairs(planes)
        if config.links.isl_line_of_sight and pairs.size:
            from orbitlearn.space.isl import isl_windows as find_isl_windows

            isl_table = find_isl_windows(
                constellation,
                start_s,
                duration_s,
                grazing_height_m=config.links.isl_grazing_height_km * 1e3,
                pairs=pairs,
            )
            assert isl_windows is not None
            for a, b in pairs.tolist():
                mask = (isl_table.satellite == a) & (isl_table.peer == b)
                isl_windows[(a, b)] = _merge(
                    isl_table.start_unix_s[mask], isl_table.end_unix_s[mask]
                )
            if len(isl_table) == 0:
                notes.append(
                    "No intra-plane ISL has line of sight in this shell (grazing height "
                    f"{config.links.isl_grazing_height_km:g} km): updates go to the ground "
                    "directly. Set links.isl_line_of_sight = false to assume the links "
                    "(FedISL's assumption)."
                )
        else:
            isl_windows = None
            notes.append("Intra-plane ISLs are taken as always up (links.isl_line_of_sight).")

    plan = ContactPlan.from_tables(timeline.contacts, isl_table, n_satellites=timeline.n_sats)
    ground_windows = [plan.ground_windows(i) for i in range(timeline.n_sats)]
    links = LinkModel(
        constellation,
        stations,
        timeline.contacts,
        ground_windows,
        isl_windows,
        LinkRates(
            uplink_bps=config.links.uplink_bps,
            downlink_bps=config.links.downlink_bps,
            isl_bps=config.links.isl_bps,
            acquisition_s=config.links.acquisition_s,
            isl_acquisition_s=config.links.isl_acquisition_s,
        ),
    )

    if workload is None:
        workload = resolve_workload(config, timeline)
    elif workload.n_satellites != timeline.n_sats:
        raise ConfigError(
            "workload",
            f"{workload.n_satellites} shards",
            f"one shard per satellite ({timeline.n_sats})",
        )
    shards = tuple(workload.shard(i) for i in range(timeline.n_sats))
    batch_size = config.workload.batch_size
    for i, (inputs, _) in enumerate(shards):
        if inputs.shape[0] < 1:
            raise ConfigError(f"workload shard of satellite {i}", 0, "at least one sample")
    import torch

    model = workload.model_factory(config.seed)
    initial_params = state_dict_to_arrays(model.state_dict())
    x0, y0 = shards[0]
    n0 = min(batch_size, int(x0.shape[0]))
    step_flops = count_step_flops(
        model,
        workload.loss_fn,
        torch.from_numpy(np.ascontiguousarray(x0[:n0])),
        torch.from_numpy(np.ascontiguousarray(y0[:n0])),
    ).total
    step_seconds = device.seconds_for_flops(step_flops)
    step_joules = device.joules_for_seconds(step_seconds)

    key = hashlib.sha256(to_toml(config).encode()).hexdigest()[:16]
    context = TrainingContext(
        key=key,
        model_factory=workload.model_factory,
        loss_fn=workload.loss_fn,
        shards=shards,
        batch_size=batch_size,
        optimizer=config.workload.optimizer,
        device=device.name,
        healing=config.faults.healing,
        fault_targets=tuple(targets),
        faults_enabled=faults_enabled,
        checkpoint_every_steps=sat_cfg.checkpoint_every_steps,
        data_seed=config.seed,
    )
    if config.executor.kind != "inprocess":
        check_picklable("model factory", workload.model_factory, config.executor.kind)
        check_picklable("loss function", workload.loss_fn, config.executor.kind)

    # exact frame sizes (int8 payloads do not depend on the values; top-k by its fraction)
    probe = UpdateCompressor(
        topk_fraction=config.updates.topk_fraction,
        quantization="int8-symmetric" if config.updates.quantize_int8 else "none",
    )
    update = ModelUpdate(
        sender=0,
        sequence=1,
        base_version=0,
        num_samples=1,
        created_time_s=start_s,
        tensors=probe.compress(initial_params),
    )
    update_bytes = frame_size_bytes(update)
    from orbitlearn.federation import GlobalModel

    global_bytes = frame_size_bytes(GlobalModel.from_arrays(0, start_s, initial_params, 0))
    if not math.isfinite(step_seconds) or step_seconds <= 0:
        raise ConfigError("satellite.device", device.name, "a device with a finite step time")
    return MissionBuild(
        config=config,
        constellation=constellation,
        stations=tuple(stations),
        timeline=timeline,
        workload=workload,
        context=context,
        device=device,
        power=power,
        plan=plan,
        links=links,
        planes=planes,
        start_s=start_s,
        end_s=end_s,
        step_flops=int(step_flops),
        step_seconds=float(step_seconds),
        step_joules=float(step_joules),
        update_bytes=int(update_bytes),
        global_bytes=int(global_bytes),
        faults_enabled=faults_enabled,
        initial_params=initial_params,
        notes=notes,
    )
