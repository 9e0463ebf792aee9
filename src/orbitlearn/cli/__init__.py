"""The ``orbitlearn`` command line: a thin layer over the library.

One module per command. :func:`run_cli` runs a command line and returns its exit status; errors
that a user can cause are printed as one clear message (never a traceback) and mapped to an exit
status from :mod:`orbitlearn.cli.exit_codes`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from orbitlearn.cli import _app
from orbitlearn.cli.exit_codes import ExitCode
from orbitlearn.errors import OrbitlearnError

# Importing a command module registers its command on the application.
from orbitlearn.cli import info as _info  # noqa: F401  # isort: skip

app = _app.app

__all__ = ["app", "main", "run_cli"]


def _register_optional_commands() -> None:
    """Import the command modules; each registers its command(s) on :data:`app`."""
    import importlib

    for name in ("contacts", "timeline", "run", "faults", "workload", "report"):
        try:
            importlib.import_module(f"orbitlearn.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"orbitlearn.cli.{name}":
                raise


_register_optional_commands()


def run_cli(argv: Sequence[str] | None = None) -> int:
    """Run ``orbitlearn`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="orbitlearn", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return int(ExitCode.OK)
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return int(ExitCode.FAILURE)
    except OrbitlearnError as exc:
        print(f"orbitlearn: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("orbitlearn: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # a bug: say so in one line unless asked for the traceback
        if os.environ.get("ORBITLEARN_DEBUG"):
            raise
        print(
            f"orbitlearn: internal error: {type(exc).__name__}: {exc} "
            "(set ORBITLEARN_DEBUG=1 to see the traceback)",
            file=sys.stderr,
        )
        return int(ExitCode.INTERNAL)
    return int(ExitCode.OK)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run_cli())
