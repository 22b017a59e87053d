"""``diskorbits demo``: the README's end-to-end demonstration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

__all__ = ["register"]


def _print(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from .actions import _print_summary

    console = Console()
    console.rule("[bold]diskorbits demo: actions of Kepler-field giants (Miglio et al. 2021)")
    _print_summary(result["actions"])
    t = Table(title="orbit parameters in MWPotential2014 (8 kpc, 220 km/s): diskorbits (Stäckel fudge) minus catalogue (authors' orbit integration)")
    t.add_column("quantity")
    t.add_column("median difference", justify="right")
    t.add_column("median |difference|", justify="right")
    for k, v in result["orbit_parameters_vs_catalogue"].items():
        t.add_row(k, f"{v['median_difference']:+.4f}", f"{v['median_abs_difference']:.4f}")
    console.print(t)
    console.print(f"took {result['seconds']:.1f} s (including JIT compilation)")
    console.print("wrote: " + ", ".join([result["table"], *result["figures"]]))


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo_command(
        output: Path = typer.Option(Path("demo-output"), "--output", "-o", help="Folder for tables and figures."),
        data: Optional[Path] = typer.Option(None, "--data", help="Kepler/APOGEE catalogue (default: ../shared/data)."),
        workers: int = typer.Option(1, "--workers", "-w", min=1, help="Local worker processes."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Run the end-to-end demo: real stars -> actions -> summary and figures."""
        from ..demo import run_demo
        from ..progress import RichProgress

        try:
            result = run_demo(output, data, workers=workers, progress=None if as_json else RichProgress(transient=True))
        except (ValueError, FileNotFoundError) as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(2) from None
        if as_json:
            typer.echo(json.dumps(result))
        else:
            _print(result)
