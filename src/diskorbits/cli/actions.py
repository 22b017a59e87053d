"""``diskorbits actions``: catalogue -> actions, angles, frequencies, orbit extents.

A thin layer over :func:`diskorbits.catalogue_actions.run_actions`.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from ..catalogue_actions import run_actions

__all__ = ["register"]


def _print_summary(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table as RichTable

    console = Console()
    t = RichTable(title=f"diskorbits actions: {summary['N']} stars, {summary['N_flagged']} flagged")
    t.add_column("quantity")
    t.add_column("median", justify="right")
    t.add_column("unit")
    for k, v in summary["medians"].items():
        t.add_row(k, "nan" if v is None else f"{v:.4g}", summary["units"][k])
    console.print(t)
    console.print(
        f"frame [bold]{summary['frame']}[/], potential [bold]{summary['potential']}[/], "
        f"input layout {summary['input_layout']} -> {summary['output']}"
    )
    if summary["renamed_input_columns"]:
        console.print(f"input columns renamed with suffix _input: {', '.join(summary['renamed_input_columns'])}")


def register(app: typer.Typer) -> None:
    @app.command("actions")
    def actions_command(
        input: Path = typer.Argument(..., help="Catalogue (.fits/.fit, .csv, .ecsv, .parquet)."),
        output: Path = typer.Option(..., "--output", "-o", help="Output table; format from the extension."),
        potential: Optional[str] = typer.Option(
            None, "--potential", "-p", help="mw2014 | milkyway (default: the frame's paper choice)."
        ),
        frame: str = typer.Option("frankel2020", "--frame", "-f", help="Solar parameters: frankel2020 | pw2021."),
        columns: Optional[list[str]] = typer.Option(
            None, "--columns", "-c", help="mapping.toml, or KEY=COLUMN (KEY=COLUMN\\[unit]); repeatable."
        ),
        method: str = typer.Option("staeckel", "--method", help="staeckel | epicycle."),
        chunk_size: int = typer.Option(2000, "--chunk-size", min=1, help="Stars per chunk."),
        workers: int = typer.Option(
            1, "--workers", "-w", min=1,
            help="Local worker processes (1: in-process; JAX already uses every core of one process).",
        ),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:port)."),
        as_json: bool = typer.Option(False, "--json", help="Print a machine-readable JSON summary on stdout."),
        show_progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists."),
    ) -> None:
        """Compute actions, angles, frequencies and orbit extents for a catalogue.

        Writes J_R, J_phi, J_z [kpc km/s], theta_R, theta_phi, theta_z [rad],
        Omega_R, Omega_phi, Omega_z [km/s/kpc], r_peri, r_apo, z_max [kpc],
        eccentricity and a per-star flag (0 = ok), next to the input columns.
        """
        from ..progress import RichProgress

        try:
            summary = run_actions(
                input,
                output,
                potential=potential,
                frame=frame,
                columns=columns,
                method=method,
                chunk_size=chunk_size,
                workers=workers,
                scheduler=scheduler,
                progress=RichProgress(transient=True) if show_progress else None,
                overwrite=overwrite,
            )
        except (ValueError, FileNotFoundError, FileExistsError) as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(2) from None
        summary["argv"] = shlex.join(sys.argv)
        if as_json:
            typer.echo(json.dumps(summary))
        else:
            _print_summary(summary)
