"""The Typer application that every command module registers itself on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="orbitlearn",
    help="Train machine-learning models in orbit: plan, simulate and harden onboard learning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Train machine-learning models in orbit: plan, simulate and harden onboard learning."""
