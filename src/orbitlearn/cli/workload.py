"""``orbitlearn workload evaluate``: train a workload on real data, report on its test split.

A thin layer over :mod:`orbitlearn.workloads.evaluate`::

    orbitlearn workload evaluate opssat --data ../shared/data/opssat --format json
    orbitlearn workload evaluate telemanom --data ../shared/data/msl --format json
    orbitlearn workload evaluate telemanom-baseline --data ../shared/data/msl --torch-device cuda
    orbitlearn workload evaluate health [MISSION.toml] [--set KEY=VALUE]

``health`` scores a mission's own simulated workload trained on every satellite's data pooled
(:mod:`orbitlearn.mission.pooled`: the centralised bound of the mission's federated learning).
Training runs through the onboard trainer (``telemanom-baseline``: telemanom's own forecaster
and training loop, :mod:`orbitlearn.workloads.telemanom_baseline`, the reference to compare
with); ``--format table`` prints the headline figures (and
one row per channel for the telemanom layout), ``--format json`` everything. torch is imported
only when a command runs, so the CLI starts fast.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from orbitlearn.cli._app import app
from orbitlearn.cli._mission_options import MissionFileArgument, OverridesOption
from orbitlearn.errors import InputError

__all__ = ["FORMATS", "render_health", "render_opssat", "render_telemanom", "workload_app"]

FORMATS = ("table", "json")

workload_app = typer.Typer(
    help="Workloads: what the satellites learn (data, model, metric).",
    no_args_is_help=True,
)
evaluate_app = typer.Typer(
    help="Train on a data set's training split through the onboard trainer; report on its test split.",
    no_args_is_help=True,
)
workload_app.add_typer(evaluate_app, name="evaluate")
app.add_typer(workload_app, name="workload")

FormatOption = Annotated[str, typer.Option("--format", help="table or json")]
SeedOption = Annotated[
    int, typer.Option("--seed", help="seed of initialisation, batch order and dropout")
]
HealingOption = Annotated[
    str,
    typer.Option(
        "--healing", help="onboard trainer's healing policy: none, detect, standard, full, dmr, tmr"
    ),
]
DeviceOption = Annotated[
    str, typer.Option("--device", help="onboard device profile (simulated time and energy)")
]

TelemanomDataOption = Annotated[
    Path,
    typer.Option(
        "--data", help="directory with train/, test/ and labeled_anomalies.csv (telemanom layout)"
    ),
]
SpacecraftOption = Annotated[
    str | None,
    typer.Option("--spacecraft", help="only this spacecraft's channels (e.g. MSL, SMAP)"),
]
ChannelsOption = Annotated[
    str | None, typer.Option("--channels", help="comma-separated channel ids (default: all)")
]


def _check_format(output_format: str) -> None:
    if output_format not in FORMATS:
        raise InputError("--format", output_format, "one of 'table', 'json'")


def _channel_list(channels: str | None) -> list[str] | None:
    """The ids of ``--channels`` (None: all channels)."""
    if channels is None:
        return None
    chosen = [c.strip() for c in channels.split(",") if c.strip()]
    if not chosen:
        raise InputError("--channels", channels, "comma-separated channel ids such as M-6,T-9")
    return chosen


def _check_positive(name: str, value: int) -> None:
    if value < 1:
        raise InputError(name, value, "an integer >= 1")


def _fmt(value: Any, spec: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def _interval(report: dict[str, Any], key: str, units: str) -> str:
    """`` (95 % interval a-b over the <units>)`` for a report's ``<key>_interval``, if any."""
    interval = report.get(f"{key}_interval")
    if not interval:
        return ""
    return f" (95 % interval {interval[0]:.3f}-{interval[1]:.3f} over the {units})"


def render_opssat(report: dict[str, Any]) -> str:
    """The headline figures of :func:`~orbitlearn.workloads.evaluate.evaluate_opssat`.

    >>> print(render_opssat({"data": "d.csv", "precision": 0.96, "recall": 0.92, "f1": 0.94,
    ...     "f0_5": 0.95, "auc_roc": 0.99, "auc_pr": 0.97, "tp": 104, "fp": 4, "fn": 9, "tn": 412,
    ...     "params": 59912, "flops_per_step": 21331968, "train_seconds": 50.0, "steps": 2000,
    ...     "f1_interval": [0.91, 0.97]}))
    OPS-SAT-AD d.csv (official test split)
      precision 0.960  recall 0.920  F1 0.940  F0.5 0.950  AUC-ROC 0.990  AUC-PR 0.970
      F1 0.940 (95 % interval 0.910-0.970 over the test segments)
      tp 104  fp 4  fn 9  tn 412
      model: 59,912 parameters, 2.13e+07 FLOPs per step, 2000 steps in 50.0 s
    """
    r = report
    return "\n".join(
        [
            f"OPS-SAT-AD {r['data']} (official test split)",
            f"  precision {_fmt(r['precision'])}  recall {_fmt(r['recall'])}  F1 {_fmt(r['f1'])}  "
            f"F0.5 {_fmt(r['f0_5'])}  AUC-ROC {_fmt(r['auc_roc'])}  AUC-PR {_fmt(r['auc_pr'])}",
            *(
                [f"  F1 {_fmt(r['f1'])}{_interval(r, 'f1', 'test segments')}"]
                if r.get("f1_interval")
                else []
            ),
            f"  tp {r['tp']}  fp {r['fp']}  fn {r['fn']}  tn {r['tn']}",
            f"  model: {r['params']:,} parameters, {r['flops_per_step']:.3g} FLOPs per step, "
            f"{r['steps']} steps in {r['train_seconds']:.1f} s",
        ]
    )


def render_health(report: dict[str, Any]) -> str:
    """Totals and per-kind rows of :func:`~orbitlearn.mission.pooled.evaluate_pooled`.

    >>> kind = {"precision": 1.0, "recall": 0.9, "f1": 0.947, "support": 40}
    >>> print(render_health({"mission": "default", "workload": "health", "satellites": 24,
    ...     "days": 3.0, "train_samples": 49152, "test_windows": 10344, "anomalous_share": 0.2,
    ...     "precision": 0.99, "recall": 0.95, "f1": 0.97, "f0_5": 0.98, "auc_roc": 0.99,
    ...     "auc_pr": 0.98, "tp": 95, "fp": 1, "fn": 5, "tn": 400, "per_kind": {"drift": kind},
    ...     "params": 2209, "flops_per_step": 8e5, "steps": 3000, "train_seconds": 4.4}))
    mission default: health on 24 satellites x 3 days, all satellites' data pooled
      precision 0.990  recall 0.950  F1 0.970  F0.5 0.980  AUC-ROC 0.990  AUC-PR 0.980
      tp 95  fp 1  fn 5  tn 400  (10,344 held-out windows, 20.0% anomalous)
    kind            precision  recall     F1  windows
    drift               1.000   0.900  0.947       40
      model: 2,209 parameters, 8e+05 FLOPs per step, 3000 steps on 49,152 windows in 4.4 s
    """
    r = report
    lines = [
        f"mission {r['mission']}: {r['workload']} on {r['satellites']} satellites x "
        f"{r['days']:g} days, all satellites' data pooled",
        f"  precision {_fmt(r['precision'])}  recall {_fmt(r['recall'])}  F1 {_fmt(r['f1'])}  "
        f"F0.5 {_fmt(r['f0_5'])}  AUC-ROC {_fmt(r['auc_roc'])}  AUC-PR {_fmt(r['auc_pr'])}",
        f"  tp {r['tp']}  fp {r['fp']}  fn {r['fn']}  tn {r['tn']}  "
        f"({r['test_windows']:,} held-out windows, {r['anomalous_share']:.1%} anomalous)",
    ]
    if r.get("per_kind"):
        lines.append(f"{'kind':<15} {'precision':>9}  {'recall':>6}  {'F1':>5}  windows")
        for kind, k in r["per_kind"].items():
            lines.append(
                f"{kind:<15} {_fmt(k['precision']):>9}  {_fmt(k['recall']):>6}  "
                f"{_fmt(k['f1']):>5}  {k['support']:>7}"
            )
    lines.append(
        f"  model: {r['params']:,} parameters, {r['flops_per_step']:.3g} FLOPs per step, "
        f"{r['steps']} steps on {r['train_samples']:,} windows in {r['train_seconds']:.1f} s"
    )
    return "\n".join(lines)


def render_telemanom(report: dict[str, Any]) -> str:
    """Per-channel rows and totals of :func:`~orbitlearn.workloads.evaluate.evaluate_telemanom`.

    >>> chan = {"tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f0_5": 1.0,
    ...         "auc_roc": 0.9, "predicted_sequences": [[1817, 2048]]}
    >>> print(render_telemanom({"data": "msl", "spacecraft": ["MSL"], "channels": {"M-6": chan},
    ...     "tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0, "f0_5": 1.0,
    ...     "auc_roc": 0.9, "auc_pr": 0.5, "params": 15297, "models": 1, "flops_per_step": 4e6,
    ...     "train_seconds": 1.5, "f0_5_interval": [1.0, 1.0]}))
    telemanom layout msl (MSL), 1 channel, event-wise
    channel   tp  fp  fn  precision  recall   F0.5  AUC-ROC  detected
    M-6        1   0   0      1.000   1.000  1.000    0.900  [1817, 2048]
    total      1   0   0      1.000   1.000  1.000    0.900
      F0.5 1.000 (95 % interval 1.000-1.000 over the channels)
      F1 1.000  AUC-PR 0.500 (point-wise)
      model: 15,297 parameters x 1, 4e+06 FLOPs per step, trained in 1.5 s
    """
    r = report
    lines = [
        f"telemanom layout {r['data']} ({', '.join(s for s in r['spacecraft'] if s) or 'no spacecraft column'}), "
        f"{len(r['channels'])} channel{'s' if len(r['channels']) != 1 else ''}, event-wise",
        f"{'channel':<8} {'tp':>3} {'fp':>3} {'fn':>3}  {'precision':>9}  {'recall':>6}  "
        f"{'F0.5':>5}  {'AUC-ROC':>7}  detected",
    ]
    for chan_id, c in r["channels"].items():
        detected = " ".join(f"[{s}, {e}]" for s, e in c["predicted_sequences"]) or "-"
        lines.append(
            f"{chan_id:<8} {c['tp']:>3} {c['fp']:>3} {c['fn']:>3}  {_fmt(c['precision']):>9}  "
            f"{_fmt(c['recall']):>6}  {_fmt(c['f0_5']):>5}  {_fmt(c['auc_roc']):>7}  {detected}"
        )
    lines.append(
        f"{'total':<8} {r['tp']:>3} {r['fp']:>3} {r['fn']:>3}  {_fmt(r['precision']):>9}  "
        f"{_fmt(r['recall']):>6}  {_fmt(r['f0_5']):>5}  {_fmt(r['auc_roc']):>7}"
    )
    if r.get("f0_5_interval"):
        lines.append(f"  F0.5 {_fmt(r['f0_5'])}{_interval(r, 'f0_5', 'channels')}")
    lines.append(f"  F1 {_fmt(r['f1'])}  AUC-PR {_fmt(r['auc_pr'])} (point-wise)")
    flops = f", {r['flops_per_step']:.3g} FLOPs per step" if "flops_per_step" in r else ""
    lines.append(
        f"  model: {r['params']:,} parameters x {r['models']}{flops}, "
        f"trained in {r['train_seconds']:.1f} s"
    )
    return "\n".join(lines)


@evaluate_app.command("opssat")
def evaluate_opssat_command(
    data: Annotated[
        Path, typer.Option("--data", help="OPS-SAT-AD dataset.csv or the directory holding it")
    ],
    seed: SeedOption = 0,
    steps: Annotated[int, typer.Option("--steps", help="training steps")] = 2000,
    members: Annotated[int, typer.Option("--members", help="MLPs in the ensemble")] = 8,
    hidden: Annotated[int, typer.Option("--hidden", help="hidden units per MLP layer")] = 64,
    transform: Annotated[
        str,
        typer.Option(
            "--transform",
            help="feature map before standardising: standard, log, both, relative or nominal; "
            "several joined by + give one input block each",
        ),
    ] = "standard+nominal",
    healing: HealingOption = "none",
    device: DeviceOption = "jetson-orin-nano-15w",
    output_format: FormatOption = "table",
) -> None:
    """OPS-SAT-AD feature table: train on the official training split, report on the test split.

    Example: orbitlearn workload evaluate opssat --data ../shared/data/opssat --format json
    """
    _check_format(output_format)
    _check_positive("--steps", steps)
    _check_positive("--members", members)
    if hidden < 2:
        raise InputError("--hidden", hidden, "an integer >= 2")
    from orbitlearn.workloads.opssat import TRANSFORMS

    if any(part not in TRANSFORMS for part in transform.split("+")):
        raise InputError(
            "--transform", transform, f"one or more of {', '.join(TRANSFORMS)} joined by +"
        )
    from orbitlearn.workloads.evaluate import evaluate_opssat

    report = evaluate_opssat(
        data,
        seed=seed,
        steps=steps,
        members=members,
        hidden=hidden,
        transform=transform,
        healing=healing,
        device=device,
    )
    typer.echo(json.dumps(report, indent=2) if output_format == "json" else render_opssat(report))


@evaluate_app.command("telemanom")
def evaluate_telemanom_command(
    data: TelemanomDataOption,
    spacecraft: SpacecraftOption = None,
    channels: ChannelsOption = None,
    seed: SeedOption = 0,
    steps: Annotated[int, typer.Option("--steps", help="training steps per model")] = 600,
    window: Annotated[int, typer.Option("--window", help="past values the forecaster sees")] = 250,
    model: Annotated[
        str, typer.Option("--model", help="forecaster: mlp, cnn or lstm (lstm: use a GPU)")
    ] = "mlp",
    hidden: Annotated[int, typer.Option("--hidden", help="hidden units per layer")] = 128,
    command_lags: Annotated[
        int, typer.Option("--command-lags", help="command rows of the last steps as inputs")
    ] = 8,
    residual: Annotated[
        bool,
        typer.Option(
            "--residual/--absolute",
            help="forecast the change from the last value, or the value itself",
        ),
    ] = False,
    horizon: Annotated[
        int, typer.Option("--horizon", help="values ahead the forecaster is trained on")
    ] = 10,
    error_step: Annotated[
        int,
        typer.Option(
            "--error-step", help="detect on the errors this many values ahead (1..horizon)"
        ),
    ] = 1,
    members: Annotated[
        int,
        typer.Option("--members", help="forecasters per model whose mean forecast is judged"),
    ] = 3,
    novelty_window: Annotated[
        int,
        typer.Option(
            "--novelty-window",
            help="values whose distance to the nearest training stretch is added to the "
            "judged errors (0: none)",
        ),
    ] = 1,
    shared: Annotated[
        bool,
        typer.Option(
            "--shared/--per-channel",
            help="one model for all channels, or one per channel (telemanom's protocol)",
        ),
    ] = False,
    healing: HealingOption = "none",
    device: DeviceOption = "jetson-orin-nano-15w",
    torch_device: Annotated[
        str,
        typer.Option("--torch-device", help="where the forecasters train: cpu or cuda"),
    ] = "cpu",
    output_format: FormatOption = "table",
) -> None:
    """Telemanom layout (NASA MSL, SMAP, ...): forecasters, dynamic thresholds, event-wise scores.

    Example: orbitlearn workload evaluate telemanom --data ../shared/data/msl --format json
    """
    _check_format(output_format)
    _check_positive("--steps", steps)
    _check_positive("--window", window)
    _check_positive("--hidden", hidden)
    _check_positive("--horizon", horizon)
    if not 1 <= error_step <= horizon:
        raise InputError("--error-step", error_step, f"an integer in [1, --horizon={horizon}]")
    if not 0 <= command_lags <= window:
        raise InputError("--command-lags", command_lags, f"an integer in [0, --window={window}]")
    _check_positive("--members", members)
    if novelty_window < 0:
        raise InputError("--novelty-window", novelty_window, "an integer >= 0 (0: none)")
    from orbitlearn.onboard.torch_device import parse_torch_device
    from orbitlearn.workloads.models import FORECASTER_KINDS

    if model not in FORECASTER_KINDS:
        raise InputError("--model", model, "one of " + ", ".join(map(repr, FORECASTER_KINDS)))
    parse_torch_device("--torch-device", torch_device)
    chosen = _channel_list(channels)
    from orbitlearn.workloads.evaluate import evaluate_telemanom

    report = evaluate_telemanom(
        data,
        seed=seed,
        steps=steps,
        window=window,
        hidden=hidden,
        kind=model,
        horizon=horizon,
        command_lags=command_lags,
        residual=residual,
        error_step=error_step,
        members=members,
        novelty_window=novelty_window,
        per_channel=not shared,
        spacecraft=spacecraft,
        channels=chosen,
        healing=healing,
        device=device,
        torch_device=torch_device,
    )
    typer.echo(
        json.dumps(report, indent=2) if output_format == "json" else render_telemanom(report)
    )


@evaluate_app.command("telemanom-baseline")
def evaluate_telemanom_baseline_command(
    data: TelemanomDataOption,
    spacecraft: SpacecraftOption = None,
    channels: ChannelsOption = None,
    seed: SeedOption = 0,
    epochs: Annotated[
        int, typer.Option("--epochs", help="most training epochs (telemanom: 35)")
    ] = 35,
    inputs: Annotated[
        str,
        typer.Option("--inputs", help="all columns (telemanom) or the value only (an ablation)"),
    ] = "all",
    torch_device: Annotated[
        str,
        typer.Option("--torch-device", help="where it trains: cpu (hours for MSL) or cuda"),
    ] = "cpu",
    output_format: FormatOption = "table",
) -> None:
    """telemanom itself, reproduced: its LSTM forecaster trained as its code does, judged by the
    same thresholds and event-wise scoring as 'evaluate telemanom'.

    Example: orbitlearn workload evaluate telemanom-baseline --data ../shared/data/msl --torch-device cuda
    """
    _check_format(output_format)
    _check_positive("--epochs", epochs)
    if inputs not in ("all", "value"):
        raise InputError("--inputs", inputs, "all or value")
    from orbitlearn.onboard.torch_device import parse_torch_device

    parse_torch_device("--torch-device", torch_device)
    chosen = _channel_list(channels)
    from orbitlearn.workloads.telemanom_baseline import (
        TelemanomBaselineConfig,
        evaluate_telemanom_baseline,
    )

    report = evaluate_telemanom_baseline(
        data,
        seed=seed,
        config=TelemanomBaselineConfig(epochs=epochs, inputs=inputs),
        spacecraft=spacecraft,
        channels=chosen,
        torch_device=torch_device,
    )
    typer.echo(
        json.dumps(report, indent=2) if output_format == "json" else render_telemanom(report)
    )


@evaluate_app.command("health")
def evaluate_health_command(
    config: MissionFileArgument = None,
    overrides: OverridesOption = None,
    seed: SeedOption = 0,
    steps: Annotated[int, typer.Option("--steps", help="training steps on the pooled data")] = 3000,
    output_format: FormatOption = "table",
) -> None:
    """A mission's simulated health telemetry: every satellite's data pooled, one model trained
    through the onboard trainer, scored overall and per anomaly kind on held-out telemetry (the
    centralised bound of what the mission's federated learning can reach).

    Example: orbitlearn workload evaluate health --set time.days=1 --format json
    """
    _check_format(output_format)
    _check_positive("--steps", steps)
    from orbitlearn.mission.config import load_mission
    from orbitlearn.mission.pooled import evaluate_pooled

    mission = load_mission(config, list(overrides or []))
    report = evaluate_pooled(mission, seed=seed, steps=steps)
    typer.echo(json.dumps(report, indent=2) if output_format == "json" else render_health(report))
