"""``orbitlearn faults``: fault-injection campaigns on onboard training.

``orbitlearn faults campaign`` is a thin layer over :func:`orbitlearn.onboard.campaign.run_campaign`:
it trains a small built-in model with a healing policy while bits are flipped, repeats that over
``--trials`` fault seeds, compares each trial with the fault-free run of the same seed, and
prints how many upsets were injected, detected, corrected and left silent, the outcome classes
of He et al. (ISCA 2023), the test accuracy against the fault-free run and the step-time
overhead (``--format table``, or ``--format json`` for scripts).

Torch is imported only when a command runs, so the CLI starts fast.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import typer

from orbitlearn.cli._app import app
from orbitlearn.errors import InputError

__all__ = ["FORMATS", "campaign", "faults_app", "render_table"]

#: Output formats of ``--format``.
FORMATS = ("table", "json")

#: Library field -> command-line option, so errors name what the user typed.
_OPTIONS = {
    "model": "--model",
    "task": "--task",
    "policy": "--policy",
    "targets": "--targets",
    "flips": "--flips",
    "acceleration": "--acceleration",
    "rate_per_bit_day": "--rate-per-bit-day",
    "flips / acceleration / rate_per_bit_day": "--flips / --acceleration / --rate-per-bit-day",
    "span_days": "--span-days",
    "bits": "--bits",
    "steps": "--steps",
    "trials": "--trials",
    "seed": "--seed",
    "device": "--device",
    "batch_size": "--batch-size",
    "learning_rate": "--lr",
    "torch_device": "--torch-device",
}

faults_app = typer.Typer(
    name="faults",
    help="Radiation faults in training: fault-injection campaigns against healing policies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(faults_app, name="faults")

_WHAT = "What is trained"
_FAULTS = "Faults"
_RUN = "Run"


@faults_app.command()
def campaign(
    model: Annotated[
        str, typer.Option(help="Built-in model: mlp or cnn.", rich_help_panel=_WHAT)
    ] = "mlp",
    task: Annotated[
        str,
        typer.Option(
            help="Built-in task: digits (8x8 handwritten digits bundled with scikit-learn) or "
            "synthetic.",
            rich_help_panel=_WHAT,
        ),
    ] = "digits",
    policy: Annotated[
        str,
        typer.Option(
            help="Healing policy: none, detect, standard, full, dmr or tmr.",
            rich_help_panel=_WHAT,
        ),
    ] = "full",
    steps: Annotated[
        int, typer.Option(help="Training steps per run.", rich_help_panel=_WHAT)
    ] = 300,
    device: Annotated[
        str,
        typer.Option(
            help="Simulated onboard device (step time and energy from counted FLOPs): "
            "jetson-orin-nano-7w/15w/25w, raspberry-pi-4, rad-hard-cpu.",
            rich_help_panel=_WHAT,
        ),
    ] = "jetson-orin-nano-15w",
    flips: Annotated[
        int | None,
        typer.Option(
            help="Exactly this many upsets per trial, spread over training (default 100 when "
            "no rate is given).",
            rich_help_panel=_FAULTS,
        ),
    ] = None,
    acceleration: Annotated[
        float | None,
        typer.Option(
            help="Instead of --flips: upsets at this multiple of the LEO SRAM rate "
            "(4.04e-7 /bit/day), over --span-days of mission time.",
            rich_help_panel=_FAULTS,
        ),
    ] = None,
    rate_per_bit_day: Annotated[
        float | None,
        typer.Option(
            help="Instead of --flips: upsets at this rate per bit per day, over --span-days.",
            rich_help_panel=_FAULTS,
        ),
    ] = None,
    span_days: Annotated[
        float,
        typer.Option(
            help="Mission time the training run is spread over (rate modes), days.",
            rich_help_panel=_FAULTS,
        ),
    ] = 1.0,
    targets: Annotated[
        str,
        typer.Option(
            help="What is hit, comma-separated: weights, grads, optimizer, buffers, "
            "activations, inputs, compute.",
            rich_help_panel=_FAULTS,
        ),
    ] = "weights,optimizer",
    bits: Annotated[
        str,
        typer.Option(
            help="Bits that can flip: any, sign, exponent, mantissa, sign_exponent, or "
            "comma-separated positions (fp32: 0-31).",
            rich_help_panel=_FAULTS,
        ),
    ] = "any",
    trials: Annotated[
        int, typer.Option(help="Faulty runs, each with its own fault seed.", rich_help_panel=_RUN)
    ] = 3,
    seed: Annotated[
        int,
        typer.Option(
            help="Seed of the initialisation, batch order and fault seeds.", rich_help_panel=_RUN
        ),
    ] = 0,
    torch_device: Annotated[
        str, typer.Option(help="Where tensors live: cpu or cuda.", rich_help_panel=_RUN)
    ] = "cpu",
    threads: Annotated[
        int,
        typer.Option(
            help="Torch intra-op threads (small models run fastest on one).", rich_help_panel=_RUN
        ),
    ] = 1,
    output_format: Annotated[
        str, typer.Option("--format", help="table or json.", rich_help_panel=_RUN)
    ] = "table",
) -> None:
    """Train a small model while bits flip, with a healing policy, and count what was caught.

    Every trial is compared with the fault-free run of the same seed. With a rate
    (--acceleration, --rate-per-bit-day) the weights and optimizer state are exposed for the
    whole --span-days, while gradients, activations and inputs exist only while a step computes
    (so a rate rarely hits them: use --flips to study those). JSON keys: policy,
    injected, detected, corrected, silent, outcomes, final_metric, fault_free_metric,
    step_overhead_ratio, coverage (by target and bit class), per_trial and more.
    """
    if output_format not in FORMATS:
        raise InputError("--format", output_format, "one of 'table', 'json'")
    if isinstance(threads, bool) or threads < 1:
        raise InputError("--threads", threads, "an integer >= 1")

    import torch

    from orbitlearn.onboard.campaign import CampaignConfig, run_campaign

    options: dict[str, Any] = {
        "model": model,
        "task": task,
        "policy": policy,
        "targets": targets,
        "flips": flips,
        "acceleration": acceleration,
        "rate_per_bit_day": rate_per_bit_day,
        "span_days": span_days,
        "bits": bits,
        "steps": steps,
        "trials": trials,
        "seed": seed,
        "device": device,
        "torch_device": torch_device,
    }
    try:
        config = CampaignConfig(**options)
    except InputError as exc:
        option = _OPTIONS.get(exc.field)
        if option is None:
            raise
        raise InputError(option, exc.value, exc.allowed, hint=exc.hint) from None
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        document = run_campaign(config).as_dict()
    finally:
        torch.set_num_threads(previous_threads)
    if output_format == "json":
        typer.echo(json.dumps(document, indent=2, allow_nan=False, default=_json_default))
    else:
        typer.echo(render_table(document))


def _json_default(value: Any) -> Any:
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, spec)


_COLUMNS = ("injected", "changed", "detected", "corrected", "unrepaired", "masked", "silent")


def render_table(document: dict[str, Any]) -> str:
    """The human-readable summary of a campaign's JSON document."""
    if document["mode"] == "flips":
        faults = f"{document['flips']} flips per trial"
    else:
        faults = (
            f"{document['rate_per_bit_day']:.3g} upsets/bit/day"
            if document["acceleration"] is None
            else f"{document['acceleration']:g}x the LEO SRAM rate"
        ) + f" over {document['span_days']:g} days"
    lines = [
        f"{document['model']} on {document['task']}, policy {document['policy']}, "
        f"{document['trials']} trials x {document['steps']} steps, {faults} "
        f"(bits: {document['bits']}) into {', '.join(document['targets'])}",
        "",
    ]
    width = max([len("all upsets"), *(len(k) for k in document["coverage"])])
    header = f"{'upsets':<{width}}" + "".join(f"{c:>11}" for c in _COLUMNS)
    lines.append(header)
    rows = [("all upsets", document), *document["coverage"].items()]
    for name, counts in rows:
        lines.append(f"{name:<{width}}" + "".join(f"{counts[c]:>11}" for c in _COLUMNS))
    lines.append("")
    outcomes = ", ".join(f"{k} {v}" for k, v in document["outcomes"].items() if v)
    lines.append(f"outcomes (He et al., ISCA 2023): {outcomes}")
    lines.append(
        f"test accuracy: {_fmt(document['final_metric'], '.4f')} mean over trials (min "
        f"{_fmt(document['final_metric_min'], '.4f')}), fault-free "
        f"{_fmt(document['fault_free_metric'], '.4f')}, largest drop "
        f"{_fmt(document['max_metric_drop_pp'], '.2f')} points; "
        f"{document['bit_identical_to_fault_free']} of {document['trials']} trials ended "
        "bit-identical to the fault-free run"
    )
    step_s = document["step_s"]
    lines.append(
        f"step time: {_fmt(document['step_overhead_ratio'], '.2f')}x a plain fault-free step "
        f"(median {1e3 * step_s['policy_with_faults']:.2f} ms vs "
        f"{1e3 * step_s['fault_free_plain']:.2f} ms, measured alternately)"
    )
    return "\n".join(lines)
