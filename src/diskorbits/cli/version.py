"""``diskorbits version``: package and runtime versions."""

from __future__ import annotations

import json
import platform

import typer

__all__ = ["register", "versions"]


def versions() -> dict:
    """Versions of diskorbits and the libraries that shape its numbers."""
    import astropy
    import jax
    import numpy

    import diskorbits

    return {
        "diskorbits": diskorbits.__version__,
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": numpy.__version__,
        "astropy": astropy.__version__,
        "jax_backend": jax.default_backend(),
    }


def register(app: typer.Typer) -> None:
    @app.command("version")
    def version_command(
        as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
    ) -> None:
        """Print the diskorbits version (and, with --json, runtime versions)."""
        v = versions()
        if as_json:
            typer.echo(json.dumps(v))
        else:
            typer.echo(f"diskorbits {v['diskorbits']}")
