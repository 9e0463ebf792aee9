"""The mission configuration: one typed, validated schema, serialised as TOML.

A mission file is the TOML form of :class:`MissionConfig`; every section is optional and falls
back to the embedded default mission (``default_mission.toml`` beside this module). ``--set
key=value`` overrides are applied on top, with ``value`` parsed as TOML (``--set
strategy.name="fedavg"``, ``--set time.days=1.5``, ``--set ground.networks=["polar"]``).

The resolved configuration (defaults, file and overrides merged and validated) is written beside
every run's results, so a run can be repeated exactly from its own output.

>>> config = MissionConfig.default()
>>> config.constellation.walker, config.strategy.name
('24/3/1', 'fedbuff')
>>> apply_overrides(config, ["time.days=0.5", 'strategy.name="fedavg"']).time.days
0.5
>>> apply_overrides(config, ['executor="ray"']).executor.kind   # short for executor.kind
'ray'
>>> apply_overrides(config, ["time.days=-1"])
Traceback (most recent call last):
...
orbitlearn.errors.ConfigError: Expected `time.days` to be a number > 0 and <= 366, actual: -1. Source: --set overrides
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orbitlearn.errors import ConfigError

__all__ = [
    "ConstellationConfig",
    "ExecutorConfig",
    "FaultsConfig",
    "GroundConfig",
    "LinksConfig",
    "MissionConfig",
    "OutputConfig",
    "SatelliteConfig",
    "StrategyConfig",
    "TimeConfig",
    "UpdatesConfig",
    "WorkloadConfig",
    "apply_overrides",
    "load_mission",
    "to_toml",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ConstellationConfig(_Section):
    """Where the satellites come from: a Walker shell, or a TLE / OMM file."""

    kind: Literal["walker", "tle", "omm"] = "walker"
    walker: str = Field(default="24/3/1", description="T/P/F: total satellites / planes / phasing")
    altitude_km: float = Field(default=550.0, gt=150.0, le=50_000.0)
    inclination_deg: float = Field(default=53.0, ge=0.0, le=180.0)
    pattern: Literal["delta", "star"] = "delta"
    path: str = Field(default="", description="TLE or OMM file (kind = 'tle' or 'omm')")
    max_satellites: int | None = Field(
        default=None, gt=0, description="use only the first N satellites of a file"
    )


class GroundConfig(_Section):
    """Ground stations (``NAME=LAT,LON[,ALT_M]``) and named networks; the mask in degrees."""

    stations: list[str] = Field(default_factory=list)
    networks: list[str] = Field(default_factory=list)
    min_elevation_deg: float = Field(default=10.0, ge=0.0, le=90.0)


class TimeConfig(_Section):
    """Mission start (ISO 8601 UTC), length and the timeline's grid step."""

    start: str = "2026-01-01T00:00:00Z"
    days: float = Field(default=3.0, gt=0.0, le=366.0)
    step_s: float = Field(default=10.0, ge=1.0, le=600.0)
    stop_at_target: bool = Field(
        default=False,
        description="end the mission as soon as a global model reaches workload.target_metric",
    )


class SatelliteConfig(_Section):
    """The satellite bus (power preset) and its onboard computer."""

    bus: str = Field(default="6u", description="power preset: 3u, 6u, espa")
    device: str = Field(
        default="jetson-orin-nano-15w", description="onboard compute device profile"
    )
    min_soc_to_train: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="battery state of charge below which training waits",
    )
    initial_soc: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="battery state of charge at the start (default: the bus preset's)",
    )
    checkpoint_every_steps: int = Field(
        default=10,
        ge=0,
        le=1_000_000,
        description="onboard checkpoint period in training steps (0: only at round start)",
    )
    reboot_s: float = Field(
        default=60.0,
        ge=0.0,
        le=86_400.0,
        description="time a reset takes: reboot and reload of the last checkpoint (est.)",
    )
    avoid_saa: bool = Field(
        default=False, description="do not start training inside the South Atlantic Anomaly"
    )
    train_in_eclipse: bool = Field(default=True, description="allow training in eclipse")


class FaultsConfig(_Section):
    """Radiation environment of the onboard memory and the healing policy."""

    memory: str = Field(default="sram", description="memory preset: sram, dram, ecc")
    resets: str = Field(
        default="zynq7000",
        description="reset (functional interrupt) model: zynq7000, trillium_host, "
        "trillium_chip, none",
    )
    acceleration: float = Field(default=1.0, ge=0.0, le=1e9)
    healing: Literal["none", "detect", "standard", "full", "tmr"] = "standard"
    targets: list[str] = Field(default_factory=lambda: ["weights", "optimizer"])


class WorkloadConfig(_Section):
    """What the satellites learn."""

    name: str = "health"
    target_metric: float = Field(default=0.8, description="metric value that counts as 'reached'")
    samples_per_satellite: int = Field(default=2048, gt=0)
    batch_size: int = Field(default=64, gt=0, le=65_536)
    learning_rate: float = Field(default=1e-3, gt=0.0, le=10.0)
    optimizer: Literal["adam", "sgd"] = Field(
        default="adam", description="local optimizer (fresh at every local round)"
    )


class StrategyConfig(_Section):
    """The federated-learning strategy and its parameters."""

    name: Literal["fedavg", "fedprox", "fedasync", "fedbuff", "orbit-aware", "isl-relay"] = (
        "fedbuff"
    )
    local_steps: int = Field(default=50, gt=0, le=1_000_000)
    buffer_size: int = Field(default=4, gt=0, description="FedBuff: updates per aggregation")
    staleness: Literal["constant", "polynomial", "hinge"] = "polynomial"
    staleness_exponent: float = Field(default=0.5, ge=0.0, le=10.0)
    mixing: float = Field(default=0.6, gt=0.0, le=1.0, description="FedAsync server mixing weight")
    proximal_mu: float = Field(
        default=0.01, ge=0.0, le=100.0, description="FedProx proximal weight"
    )
    clients_per_round: float = Field(
        default=1.0, gt=0.0, le=1.0, description="sync strategies: fraction of satellites per round"
    )
    min_fraction: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="fedavg/fedprox/orbit-aware: share of reports that closes a round "
        "(default: the strategy's own)",
    )
    round_timeout_h: float | None = Field(
        default=None, gt=0.0, description="fedavg/fedprox: close a round after this long"
    )
    max_wait_h: float | None = Field(
        default=None, gt=0.0, description="fedbuff: aggregate a partly filled buffer this late"
    )
    server_learning_rate: float = Field(default=1.0, gt=0.0, le=100.0)
    aggregation: Literal["mean", "median", "trimmed-mean"] = "mean"
    trim_fraction: float = Field(default=0.1, ge=0.0, lt=0.5)
    clip_norm: float | None = Field(default=None, gt=0.0)


class UpdatesConfig(_Section):
    """How model updates travel: compression and authentication."""

    quantize_int8: bool = True
    topk_fraction: float | None = Field(default=None, gt=0.0, le=1.0)
    sign: bool = True


class LinksConfig(_Section):
    """Link rates (bit/s) and the time a link needs before data flows."""

    uplink_bps: float = Field(
        default=200e3, gt=0.0, description="ground -> satellite (S-band, CubeSat class)"
    )
    downlink_bps: float = Field(
        default=12.5e6, gt=0.0, description="satellite -> ground (X-band, CubeSat class)"
    )
    isl_bps: float = Field(default=10e6, gt=0.0)
    acquisition_s: float = Field(
        default=30.0, ge=0.0, le=3600.0, description="per pass, before data flows (est.)"
    )
    isl_acquisition_s: float = Field(
        default=30.0, ge=0.0, le=3600.0, description="per ISL window, before data flows (est.)"
    )
    isl_line_of_sight: bool = Field(
        default=True,
        description="ISLs only while the Earth (plus the grazing height) does not block them; "
        "false takes intra-plane links as always up (FedISL's assumption)",
    )
    isl_grazing_height_km: float = Field(default=80.0, ge=0.0, le=1000.0)
    exchanges_per_pass: int = Field(
        default=2,
        ge=0,
        le=1_000_000,
        description="uploads and downloads a satellite starts per ground pass (0: as many as "
        "the pass's link time carries; with fedasync or a buffer of one, a satellite in view "
        "then trades models with the ground every second or so for its whole pass, which is "
        "slow to simulate)",
    )
    bit_error_rate: float = Field(
        default=0.0, ge=0.0, le=0.5, description="residual bit error rate after coding"
    )


class ExecutorConfig(_Section):
    """Where local training runs: in this process, a process pool, or Ray."""

    kind: Literal["inprocess", "process", "ray"] = "inprocess"
    workers: int = Field(default=2, gt=0, le=4096)
    address: str | None = Field(
        default=None, description="Ray cluster address; None starts a local one"
    )


class OutputConfig(_Section):
    """What a run writes besides its results: checkpoints, metric snapshots, the report."""

    checkpoint_every_h: float = Field(
        default=6.0, ge=0.0, le=8784.0, description="mission checkpoint period (0: none)"
    )
    snapshot_every_min: float = Field(
        default=60.0, gt=0.0, le=1440.0, description="period of the metric snapshots"
    )
    report: bool = Field(default=True, description="write report.html when the report exists")


class MissionConfig(_Section):
    """A whole mission; every section has defaults (the embedded default mission)."""

    name: str = "default"
    seed: int = Field(default=0, ge=0)
    constellation: ConstellationConfig = Field(default_factory=lambda: ConstellationConfig())
    ground: GroundConfig = Field(default_factory=lambda: GroundConfig())
    time: TimeConfig = Field(default_factory=lambda: TimeConfig())
    satellite: SatelliteConfig = Field(default_factory=lambda: SatelliteConfig())
    faults: FaultsConfig = Field(default_factory=lambda: FaultsConfig())
    workload: WorkloadConfig = Field(default_factory=lambda: WorkloadConfig())
    strategy: StrategyConfig = Field(default_factory=lambda: StrategyConfig())
    updates: UpdatesConfig = Field(default_factory=lambda: UpdatesConfig())
    links: LinksConfig = Field(default_factory=lambda: LinksConfig())
    executor: ExecutorConfig = Field(default_factory=lambda: ExecutorConfig())
    output: OutputConfig = Field(default_factory=lambda: OutputConfig())

    @field_validator("executor", mode="before")
    @classmethod
    def _executor_shorthand(cls, value: Any) -> Any:
        """``executor = "ray"`` is short for ``[executor] kind = "ray"``."""
        return {"kind": value} if isinstance(value, str) else value

    @classmethod
    def default(cls) -> MissionConfig:
        """The embedded default mission."""
        text = resources.files("orbitlearn.mission").joinpath("default_mission.toml").read_text()
        return _validate(tomllib.loads(text), source="the embedded default mission")


def _describe_error(error: Any) -> tuple[str, Any, str]:
    field = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    context = error.get("ctx", {})
    bounds = {
        "greater_than": "a number > {gt}",
        "greater_than_equal": "a number >= {ge}",
        "less_than": "a number < {lt}",
        "less_than_equal": "a number <= {le}",
    }
    if kind in bounds:
        allowed = bounds[kind].format(**context)
    elif kind == "literal_error":
        allowed = "one of " + context.get("expected", "")
    elif kind == "extra_forbidden":
        allowed = "a known setting (this one does not exist; check the spelling)"
    else:
        allowed = error["msg"][0].lower() + error["msg"][1:]
    return field, error.get("input"), allowed


def _validate(data: dict[str, Any], *, source: str) -> MissionConfig:
    try:
        return MissionConfig.model_validate(data)
    except ValidationError as exc:
        field, value, allowed = _describe_error(exc.errors()[0])
        merged = _merge_bounds(exc.errors(), field)
        raise ConfigError(field, value, merged or allowed, hint=f"Source: {source}") from None


def _merge_bounds(errors: list[Any], field: str) -> str | None:
    """Say both ends of a range when the schema has both (``> 0 and <= 366``)."""
    for error in errors:
        if ".".join(str(p) for p in error["loc"]) != field:
            continue
        schema_field = _schema_field(field)
        if schema_field is None:
            return None
        low = high = None
        for meta in schema_field.metadata:
            for name, symbol in (("gt", ">"), ("ge", ">=")):
                if getattr(meta, name, None) is not None:
                    low = f"{symbol} {getattr(meta, name):g}"
            for name, symbol in (("lt", "<"), ("le", "<=")):
                if getattr(meta, name, None) is not None:
                    high = f"{symbol} {getattr(meta, name):g}"
        if low and high:
            return f"a number {low} and {high}"
        return None
    return None


def _schema_field(dotted: str) -> Any:
    model: Any = MissionConfig
    info = None
    for part in dotted.split("."):
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return None
        info = fields[part]
        model = info.annotation
    return info


def load_mission(
    path: str | Path | None = None, overrides: list[str] | None = None
) -> MissionConfig:
    """Load a mission: the embedded default, then ``path`` (TOML) on top, then ``overrides``.

    Raises :class:`~orbitlearn.errors.ConfigError` naming the field, the value and what is
    allowed; a TOML syntax error names the file and line.
    """
    base = MissionConfig.default().model_dump(mode="python")
    if path is not None:
        file_path = Path(path)
        try:
            text = file_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("mission file", str(file_path), "an existing TOML file") from None
        except UnicodeDecodeError:
            raise ConfigError("mission file", str(file_path), "a UTF-8 TOML text file") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                "mission file", str(file_path), f"valid TOML ({exc})", hint="Fix the line named."
            ) from None
        base = _deep_merge(base, data)
    config = _validate(base, source=str(path) if path else "the embedded default mission")
    return apply_overrides(config, overrides or [])


def apply_overrides(config: MissionConfig, overrides: list[str]) -> MissionConfig:
    """Apply ``key=value`` overrides (value parsed as TOML) and validate the result."""
    data = config.model_dump(mode="python")
    for item in overrides:
        key, separator, raw = item.partition("=")
        key = key.strip()
        if not separator or not key:
            raise ConfigError("--set", item, "KEY=VALUE, e.g. time.days=1.5")
        try:
            value = tomllib.loads(f"value = {raw.strip()}")["value"]
        except tomllib.TOMLDecodeError:
            # A bare word is taken as a string: --set strategy.name=fedavg
            value = raw.strip()
        target = data
        parts = key.split(".")
        for part in parts[:-1]:
            child = target.get(part)
            if not isinstance(child, dict):
                raise ConfigError("--set", item, f"a known setting; `{part}` is not a section")
            target = child
        if parts[-1] not in target:
            known = ", ".join(sorted(target))
            raise ConfigError("--set", item, f"a known setting (known here: {known})")
        target[parts[-1]] = value
    return _validate(data, source="--set overrides" if overrides else "the configuration")


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def to_toml(config: MissionConfig) -> str:
    """Serialise a configuration as TOML (the inverse of :func:`load_mission`)."""
    data = config.model_dump(mode="python")
    lines: list[str] = []
    for key, value in data.items():
        if not isinstance(value, dict):
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append("")
            lines.append(f"[{key}]")
            for sub_key, sub_value in value.items():
                if sub_value is None:
                    continue  # TOML has no null: an absent key means "use the default"
                lines.append(f"{sub_key} = {_toml_value(sub_value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")
