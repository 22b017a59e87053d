"""``diskorbits ism``: shearing-box runs through ISM fluctuations (Modak et al. 2026).

A thin layer over :func:`diskorbits.shearingbox.run.run_shearing_box`,
:func:`~diskorbits.shearingbox.run.read_run` and :mod:`diskorbits.plotting.ism`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

__all__ = ["register"]

ism_app = typer.Typer(
    name="ism",
    help="ISM-driven orbital transport in a shearing box: run, summary, plot.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


def _print_summary(s: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = f"{s['name'] or 'shearing-box run'}: {s['n_stars']} stars, t = {s['t_gyr']:.3g} Gyr"
    if not s["complete"]:
        title += " (unfinished checkpoint)"
    t = Table(title=title)
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_column("unit")
    t.add_row("sigma_R", f"{s['sigma_R_kms']:.3f}", "km/s")
    t.add_row("sigma_z", f"{s['sigma_z_kms']:.3f}", "km/s")
    t.add_row("rms dJ_R", f"{s['rms_dJR_kpckms']:.4g}", "kpc km/s")
    t.add_row("rms dJ_phi", f"{s['rms_dJphi_kpckms']:.4g}", "kpc km/s")
    t.add_row("rms dx_g", f"{s['rms_dxg_kpc']:.3f}", "kpc")
    t.add_row("rms dJ_R / rms dJ_phi", f"{s['ratio']:.4f}", "")
    for name, fits in s["slopes"].items():
        for regime, fit in fits.items():
            if fit is not None:
                a, b = fit["window_gyr"]
                t.add_row(f"slope {name} ({regime}, {a:.2g}-{b:.2g} Gyr)", f"{fit['slope']:.3f} ± {fit['err']:.3f}", "")
    console.print(t)
    console.print(f"seed {s['seed']}, diskorbits {s['version']}")


def register(app: typer.Typer) -> None:
    @ism_app.command("run")
    def run_command(
        config: Path = typer.Argument(..., help="Run configuration (TOML); see configs/ism/."),
        output: Path = typer.Option(..., "--output", "-o", help="HDF5 run file (checkpoints go into it too)."),
        n_stars: Optional[int] = typer.Option(None, "--n-stars", min=1, help="Override run.n_stars."),
        duration: Optional[float] = typer.Option(None, "--duration-gyr", min=0.0, help="Override run.duration_gyr."),
        seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Override run.seed."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT instead of resuming it."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
        show_progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
    ) -> None:
        """Integrate an ensemble through ISM fluctuations; resumes OUTPUT's checkpoint if present."""
        from ..progress import RichProgress
        from ..shearingbox.config import ConfigError, load_config
        from ..shearingbox.run import run_shearing_box

        try:
            cfg = load_config(config)
            over = {k: v for k, v in (("n_stars", n_stars), ("duration_gyr", duration), ("seed", seed)) if v is not None}
            if over:
                cfg = cfg.replace(run=over)
            result = run_shearing_box(
                cfg, output, progress=RichProgress() if show_progress else None, resume=not overwrite, overwrite=overwrite
            )
        except (ConfigError, FileNotFoundError, FileExistsError, ValueError) as exc:
            _fail(str(exc))
        summary = result.summary()
        summary["output"] = str(output)
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        else:
            _print_summary(summary)
            typer.echo(f"wrote {output}")

    @ism_app.command("summary")
    def summary_command(
        run_file: Path = typer.Argument(..., help="Run file written by `diskorbits ism run`."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
        early: Optional[tuple[float, float]] = typer.Option(None, "--early", help="Early slope window, Gyr (two numbers)."),
        late: Optional[tuple[float, float]] = typer.Option(None, "--late", help="Late slope window, Gyr (two numbers)."),
    ) -> None:
        """Final sigma_R, rms dJ_R, rms dJ_phi, rms dx_g, their ratio and fitted power-law slopes."""
        from ..shearingbox.run import read_run

        try:
            run = read_run(run_file)
        except (FileNotFoundError, ValueError, OSError) as exc:
            _fail(str(exc))
        s = run.summary(early_gyr=early, late_gyr=late)
        if as_json:
            typer.echo(json.dumps(s, indent=2))
        else:
            _print_summary(s)

    @ism_app.command("plot")
    def plot_command(
        run_files: list[Path] = typer.Argument(..., help="One or more run files (overplotted)."),
        outdir: Path = typer.Option(Path("."), "--outdir", "-o", help="Directory for the PNG figures."),
        labels: Optional[list[str]] = typer.Option(None, "--label", help="Legend label per run (repeatable)."),
    ) -> None:
        """Figures like the paper's Figs. 2-5: sigma_R(t), rms action changes and ratio, dx_g histograms."""
        from ..plotting.ism import save_run_figures
        from ..shearingbox.run import read_run

        try:
            runs = [read_run(p) for p in run_files]
        except (FileNotFoundError, ValueError, OSError) as exc:
            _fail(str(exc))
        if labels and len(labels) != len(runs):
            _fail(f"{len(labels)} --label values for {len(runs)} run files")
        for path in save_run_figures(runs, outdir, labels=labels):
            typer.echo(f"wrote {path}")

    app.add_typer(ism_app, name="ism")
