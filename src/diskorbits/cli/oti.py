"""``diskorbits oti``: Orbital Torus Imaging (Price-Whelan et al. 2021).

A thin layer over :mod:`diskorbits.torusimaging`:

* ``oti mock CONFIG.toml -o MOCK.fits`` -- a phase-mixed mock with known truth
  (:mod:`diskorbits.torusimaging.mock_config`);
* ``oti select APOGEE.fits -o SAMPLE.fits`` -- the PW2021 Sec. 3 parent sample
  with a per-cut table (:mod:`diskorbits.torusimaging.apogee`).

Further commands (``fit``, ``summary``, ``plot``) are added as functions
decorated with ``@oti_app.command(...)`` inside :func:`register`, reusing
:func:`_fail` and the table printers below.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

__all__ = ["oti_app", "register"]

oti_app = typer.Typer(
    name="oti",
    help="Orbital Torus Imaging (Price-Whelan et al. 2021): mock catalogues, APOGEE x Gaia selection.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


def _print_cuts(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{summary['source']}: {summary['n_input']} -> {summary['n_selected']} stars")
    t.add_column("cut")
    t.add_column("keeps")
    t.add_column("removed", justify="right")
    t.add_column("left", justify="right")
    for c in summary["cuts"]:
        removed = str(c["n_removed"]) if c["status"] == "applied" else f"skipped ({c['reason']})"
        t.add_row(c["name"], c["description"], removed, str(c["n_after"]))
    Console().print(t)


def _print_mock(summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"OTI mock: {summary['n_stars']} stars, seed {summary['seed']}")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("disk mass factor (truth)", f"{summary['disk_mass_factor']:g}")
    t.add_row("h_z (truth)", f"{summary['h_z_kpc']:g} kpc")
    t.add_row("z_sun, v_z,sun", f"{summary['z_sun_pc']:g} pc, {summary['v_z_sun_kms']:g} km/s")
    t.add_row("ratios", ", ".join(summary["ratios"]))
    t.add_row("median distance", f"{summary['median_distance_kpc']:.3f} kpc")
    Console().print(t)


def register(app: typer.Typer) -> None:
    @oti_app.command("mock")
    def mock_command(
        config: Path = typer.Argument(..., help="Mock configuration (TOML); see configs/oti/."),
        output: Path = typer.Option(..., "--output", "-o", help="FITS catalogue to write (APOGEE/Gaia-like columns + truth)."),
        n_stars: int | None = typer.Option(None, "--n-stars", min=1, help="Override mock.n_stars."),
        seed: int | None = typer.Option(None, "--seed", min=0, help="Override mock.seed."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    ) -> None:
        """Draw a phase-mixed mock with known truth and write it as an APOGEE/Gaia-like FITS catalogue."""
        import numpy as np

        from ..torusimaging.mock_config import (
            ConfigError,
            load_mock_config,
            write_mock_catalogue,
        )

        try:
            cfg = load_mock_config(config)
            over = {k: v for k, v in (("n_stars", n_stars), ("seed", seed)) if v is not None}
            if over:
                cfg = cfg.replace(mock=over)
            if output.exists() and not overwrite:
                raise FileExistsError(f"output file {str(output)!r} exists; pass --overwrite")
            mock = cfg.make()
            write_mock_catalogue(mock, output, cfg, overwrite=overwrite)
        except (ConfigError, FileNotFoundError, FileExistsError, ValueError, RuntimeError) as exc:
            _fail(str(exc))
        d = cfg.doc
        summary = {
            "output": str(output),
            "n_stars": mock.n_stars,
            "seed": cfg.seed,
            "disk_mass_factor": d["potential"]["disk_mass_factor"],
            "h_z_kpc": d["potential"]["h_z_kpc"],
            "z_sun_pc": d["sun"]["z_sun_pc"],
            "v_z_sun_kms": d["sun"]["v_z_sun_kms"],
            "ratios": list(cfg.ratios),
            "median_distance_kpc": float(np.median(np.asarray(mock.observed().distance))),
        }
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        else:
            _print_mock(summary)
            typer.echo(f"wrote {output}")

    @oti_app.command("select")
    def select_command(
        catalogue: Path = typer.Argument(..., help="APOGEE DR17 allStar x Gaia file (FITS, CSV, ECSV, Parquet)."),
        output: Path | None = typer.Option(None, "--output", "-o", help="Write the selected rows here (any table format)."),
        elements: list[str] | None = typer.Option(
            None, "--element", help="Abundance ratio that must be finite (repeatable; default the paper's eight)."
        ),
        logg_min: float | None = typer.Option(None, "--logg-min", help="Lower log g bound (paper 1.5; authors' scripts 1.0)."),
        logg_max: float | None = typer.Option(None, "--logg-max", help="Upper log g bound (3.4)."),
        snr_min: float | None = typer.Option(None, "--snr-min", help="SNR threshold (20)."),
        parallax_min: float | None = typer.Option(None, "--parallax-min", help="Parallax threshold, mas (0.5)."),
        parallax_snr_min: float | None = typer.Option(None, "--parallax-snr-min", help="Parallax S/N threshold (8)."),
        max_distance: float | None = typer.Option(None, "--max-distance", help="Keep 1/parallax below this, kpc (off)."),
        no_star_warn: bool = typer.Option(False, "--allow-star-warn", help="Keep stars with ASPCAPFLAG STAR_WARN."),
        no_low_alpha: bool = typer.Option(False, "--no-low-alpha", help="Disable the low-alpha polygon."),
        skip_missing: bool = typer.Option(False, "--skip-missing", help="Skip (and report) cuts whose columns are missing."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists."),
        as_json: bool = typer.Option(False, "--json", help="Print the per-cut report as JSON on stdout."),
    ) -> None:
        """Apply the PW2021 Sec. 3 quality, targeting, low-alpha and parallax cuts; print a per-cut table."""
        from ..io import write_table
        from ..torusimaging.apogee import (
            ASPCAP_STAR_BAD,
            PW2021_ELEMENTS,
            APOGEESelection,
            load_apogee_gaia,
        )

        try:
            sel = APOGEESelection()
            changes = {}
            if logg_min is not None or logg_max is not None:
                lo, hi = sel.logg_range
                changes["logg_range"] = (lo if logg_min is None else logg_min, hi if logg_max is None else logg_max)
            for key, value in (("snr_min", snr_min), ("parallax_min", parallax_min),
                               ("parallax_snr_min", parallax_snr_min), ("max_distance", max_distance)):
                if value is not None:
                    changes[key] = value
            if no_star_warn:
                changes["aspcapflag_bad_bits"] = (ASPCAP_STAR_BAD,)
            if no_low_alpha:
                changes["low_alpha_polygon"] = None
            if skip_missing:
                changes["on_missing"] = "skip"
            sel = sel.replace(**changes)
            if output is not None and output.exists() and not overwrite:
                raise FileExistsError(f"output file {str(output)!r} exists; pass --overwrite")
            sample = load_apogee_gaia(catalogue, sel, elements or PW2021_ELEMENTS)
            if output is not None:
                table = sample.table
                table.meta["SELECTN"] = "Price-Whelan et al. 2021 Sec. 3 (diskorbits oti select)"
                write_table(table, output, overwrite=overwrite)
        except (FileNotFoundError, FileExistsError, ValueError, TypeError) as exc:
            _fail(str(exc))
        summary = sample.summary()
        summary["output"] = None if output is None else str(output)
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        else:
            _print_cuts(summary)
            if output is not None:
                typer.echo(f"wrote {output} ({len(sample)} stars)")

    app.add_typer(oti_app, name="oti")
