"""``diskorbits oti``: Orbital Torus Imaging (Price-Whelan et al. 2021).

A thin layer over :mod:`diskorbits.torusimaging`:

* ``oti mock CONFIG.toml -o MOCK.fits`` -- a phase-mixed mock with known truth
  (:mod:`diskorbits.torusimaging.mock_config`);
* ``oti select APOGEE.fits -o SAMPLE.fits`` -- the PW2021 Sec. 3 parent sample
  with a per-cut table (:mod:`diskorbits.torusimaging.apogee`);
* ``oti fit CATALOG --elements FE_H,O_FE -o RESULT.h5`` -- bootstrap
  inference of (disk mass factor, h_z, z_sun, v_z,sun) per element and joint
  (:func:`~diskorbits.torusimaging.bootstrap_inference`), optionally the 1-D
  a2 scan; catalogue reading in :mod:`diskorbits.torusimaging.catalogue`;
* ``oti profile CATALOG --elements FE_H,O_FE --h-z 0.20,0.24,0.28 -o PROFILE.h5``
  -- the fits at each of a grid of fixed disk scale heights and the profiled
  statistic (:func:`~diskorbits.torusimaging.profile_inference`);
* ``oti summary RESULT.h5`` -- a Table-1-like table (per element, joint, and
  the paper's values); for a profile file, the profile table;
* ``oti plot RESULT.h5 -o DIR`` -- Fig. 5-7-style figures
  (:mod:`diskorbits.plotting.torusimaging`, :mod:`diskorbits.plotting.oti_results`);
  for a profile file, the statistic and the disk mass factor against h_z.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from diskorbits.cli._console import console_for, with_unit

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


#: Table 1 rows: (key, label, multiplier of the stored paper-unit value, format, unit shown).
_TABLE1_ROWS = (
    ("disk_mass_factor", "M_disk / M*_disk", 1.0, ".3f", ""),
    ("h_z", "h_z", 1.0, ".3f", "kpc"),
    ("z_sun", "z_sun", 1.0, ".1f", "pc"),
    ("v_z_sun", "v_z,sun", 1.0, ".2f", "km/s"),
    ("disk_mass", "M_disk", 1e-10, ".2f", "1e10 Msun"),
    ("disk_to_halo_mass_ratio", "M_disk / M_halo (< 8.1 kpc)", 1.0, ".2f", ""),
)
_TRUTH_KEYS = {"disk_mass_factor": "disk_mass_factor", "h_z": "h_z_kpc", "z_sun": "z_sun_pc", "v_z_sun": "v_z_sun_kms"}


def _split(text: str, name: str) -> list[str]:
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        _fail(f"{name} needs a comma-separated list; got {text!r}")
    return items


def _scan_grid(text: str):
    import numpy as np

    parts = _split(text, "--a2-scan")
    try:
        lo, hi, n = float(parts[0]), float(parts[1]), int(parts[2])
        if len(parts) != 3:
            raise ValueError
    except (ValueError, IndexError):
        _fail(f"--a2-scan takes 'LO,HI,N' (disk mass factors), e.g. 0.8,1.4,7; got {text!r}")
    if not (0 < lo < hi) or n < 2:
        _fail(f"--a2-scan needs 0 < LO < HI and N >= 2; got {text!r}")
    return np.linspace(lo, hi, n)


def _table1(summary: dict, extras: dict, scan_info: dict | None = None, scan=None) -> dict:
    """Plain-data Table-1 view of a stored result summary (see ``oti summary --json``)."""
    from ..torusimaging.catalogue import PW2021_TABLE1

    free = set(summary.get("free", []))
    columns = {**summary["ratios"], **({} if summary.get("joint") is None else {"joint": summary["joint"]})}
    table = {}
    for col, entries in columns.items():
        table[col] = {}
        for key, *_ in _TABLE1_ROWS:
            e = entries[key]
            table[col][key] = {
                "mean": e["mean"],
                "std": e["std"],
                "unit": e["unit"],
                "fixed": key in _TRUTH_KEYS and key not in free,
            }
        if col != "joint":
            table[col]["n_bootstrap"] = entries.get("n_bootstrap")
            table[col]["n_success"] = entries.get("n_success")
    cfg = summary.get("config", {})
    out = {
        "rows": [k for k, *_ in _TABLE1_ROWS],
        "columns": list(columns),
        "elements": list(summary["ratios"]),
        "free": summary.get("free", []),
        "table": table,
        "paper_table1": {k: {r: list(v) for r, v in d.items()} for k, d in PW2021_TABLE1.items()},
        "truth": extras.get("catalogue", {}).get("truth"),
        "catalogue": extras.get("catalogue", {}).get("path"),
        "n_stars": cfg.get("n_stars"),
        "n_bootstrap": cfg.get("n_bootstrap"),
        "method": cfg.get("method"),
        "setup": {k: cfg.get("setup", {}).get(k) for k in ("k", "metric", "weighting")},
        "wall_time_s": cfg.get("wall_time_s"),
        "joint_method": summary.get("joint_method", "inverse-covariance"),
        "joint_error": summary.get("joint_error"),
        "a2_scan": None,
    }
    if scan is not None:
        out["a2_scan"] = {
            "ratio": (scan_info or {}).get("ratio"),
            "mass_factors": [float(f) for f in scan.mass_factors],
            "a2_mean": [float(v) for v in scan.mean[:, 3]],
            "a2_std": [float(v) for v in scan.std[:, 3]],
            "crossing": scan.crossing,
            "crossing_error": scan.crossing_error,
        }
    return out


def _print_table1(t1: dict, title: str) -> None:
    from rich.table import Table

    t = Table(title=title)
    t.add_column("parameter")
    for col in t1["columns"]:
        t.add_column(col, justify="right")
    if t1["truth"]:
        t.add_column("truth", justify="right", style="green")
    short = {"all eight ratios": "PW2021 (all 8)", "without [Mg/Fe], [Si/Fe]": "PW2021 (no Mg, Si)"}
    for label in t1["paper_table1"]:
        t.add_column(short.get(label, f"PW2021: {label}"), justify="right", style="dim")
    for key, label, mult, fmt, unit in _TABLE1_ROWS:
        row = [with_unit(label, unit)]
        for col in t1["columns"]:
            e = t1["table"][col][key]
            if e["fixed"]:
                row.append(f"{e['mean'] * mult:{fmt}} (fixed)")
            else:
                row.append(f"{e['mean'] * mult:{fmt}} ± {e['std'] * mult:{fmt}}")
        if t1["truth"]:
            tk = _TRUTH_KEYS.get(key)
            row.append(f"{t1['truth'][tk]:g}" if tk else "")
        for d in t1["paper_table1"].values():
            v, e = d[key]
            row.append(f"{v * mult:{fmt}} ± {e * mult:{fmt}}")
        t.add_row(*row)
    console = console_for(t)
    console.print(t)
    console.print(
        f"{t1['n_stars']} stars, {t1['n_bootstrap']} bootstrap trials ({t1['method']}; "
        f"k = {t1['setup']['k']}, {t1['setup']['metric']} metric); free: {', '.join(t1['free'])}; "
        f"joint: {t1['joint_method']}"
    )
    if t1.get("joint_error"):
        console.print(f"[yellow]no joint estimate:[/yellow] {t1['joint_error']}")
    scan = t1.get("a2_scan")
    if scan:
        console.print(
            f"a2 scan ({scan['ratio']}): a2 = 0 at M_disk/M*_disk = {scan['crossing']:.3f} ± {scan['crossing_error']:.3f}"
        )


def _checked_free(free: str, method: str, joint: str | None, metric: str) -> list[str]:
    """Validate the fit options shared by ``oti fit`` and ``oti profile``; returns the free parameter names."""
    from ..torusimaging.inference import JOINT_METHODS, METHODS
    from ..torusimaging.neighbours import ACTION_METRICS
    from ..torusimaging.objective import PARAMETER_NAMES

    free_names = _split(free, "--free")
    bad = [f for f in free_names if f not in PARAMETER_NAMES]
    if bad:
        _fail(f"unknown parameter(s) {', '.join(bad)} in --free; choose from {', '.join(PARAMETER_NAMES)}")
    if method not in METHODS:
        _fail(f"--method must be one of {', '.join(METHODS)}; got {method!r}")
    if joint is not None and joint not in JOINT_METHODS:
        _fail(f"--joint must be one of {', '.join(JOINT_METHODS)}; got {joint!r}")
    if metric not in ACTION_METRICS:
        _fail(f"--metric must be one of {', '.join(ACTION_METRICS)}; got {metric!r}")
    return free_names


def _fit_inputs(catalogue: Path, names, k: int, metric: str, workers, scheduler, show_progress: bool):
    """The catalogue, setup, fiducial start and executor of an OTI fit (raises ValueError on bad input)."""
    from ..parallel import Executor
    from ..progress import RichProgress
    from ..torusimaging import OTISetup, fiducial_parameters
    from ..torusimaging.catalogue import load_oti_catalogue

    cat = load_oti_catalogue(catalogue, names)
    if cat.data.n_stars <= k:
        raise ValueError(f"{cat.data.n_stars} complete stars is too few for --k {k} neighbours")
    setup = OTISetup(k=k, metric=metric)
    executor = Executor(n_workers=workers, scheduler=scheduler, progress=RichProgress(transient=True) if show_progress else None)
    return cat, setup, fiducial_parameters(setup), executor


def _maxiter_option(method: str, maxiter: int | None) -> dict:
    """``--maxiter`` under the keyword each optimiser takes."""
    if maxiter is None:
        return {}
    return {"maxiter" if method != "gauss-newton" else "max_iterations": maxiter}


def _h_z_grid(text: str) -> list[float]:
    """``--h-z`` values (kpc); the library checks them (> 0, >= 3, distinct)."""
    out = []
    for item in _split(text, "--h-z"):
        try:
            out.append(float(item))
        except ValueError:
            _fail(f"--h-z takes comma-separated scale heights in kpc, e.g. 0.20,0.24,0.28; got {item!r}")
    return out


def _is_profile(path: Path) -> bool:
    """Whether ``path`` is an HDF5 file written by ``oti profile`` (anything else: False)."""
    try:
        import h5py

        from ..torusimaging.profile import PROFILE_FORMAT

        with h5py.File(path, "r") as h:
            return h.attrs.get("format") == PROFILE_FORMAT
    except (OSError, ValueError):
        return False


def _print_profile(d: dict, title: str) -> None:
    """Rich table of :meth:`HzProfile.to_dict` (plus the CLI's catalogue info)."""
    from rich.table import Table

    t = Table(title=title)
    t.add_column(with_unit("h_z", "kpc"), justify="right")
    rows = [(key, label, mult, fmt, unit) for key, label, mult, fmt, unit in _TABLE1_ROWS[:-1] if key != "h_z"]
    for _, label, _, _, unit in rows:
        t.add_column(with_unit(label, unit), justify="right")
    t.add_column("S", justify="right")
    t.add_column("S - min S", justify="right")
    t.add_column("note")
    for row in d["grid"]:
        cells = [f"{row['h_z']:.3f}"]
        for key, _, mult, fmt, _ in rows:
            e = row[key]
            if e.get("fixed"):
                cells.append(f"{e['mean'] * mult:{fmt}} (fixed)")
            else:
                cells.append(f"{e['mean'] * mult:{fmt}} ± {e['std'] * mult:{fmt}}")
        cells.append(f"{row['statistic']:.2f}")
        cells.append(f"{row['delta_statistic']:.2f} ± {row['delta_statistic_std']:.2f}")
        cells.append(row["note"][:60])
        t.add_row(*cells)
    console = console_for(t)
    console.print(t)
    b, st, cfg = d["best_h_z"], d["statistic"], d["config"]
    console.print(
        f"{cfg.get('n_stars')} stars, {cfg.get('n_bootstrap')} bootstrap trials per h_z ({cfg.get('method')}, joint: "
        f"{cfg.get('joint')}); free: {', '.join(d['free'])}; ratios: {', '.join(d['ratios'])}; S: "
        f"{st['n_residuals']} residuals - {st['n_free']} free = {st['dof']} dof"
    )
    console.print(
        f"best h_z = {b['value']:.3f} ± {b['std']:.3f} kpc (bootstrap, {b['n_trials_at_edge']} of {b['n_trials']} "
        f"trials at a grid edge; formal Delta S = 1: {b['formal_lower']:.3f}-{b['formal_upper']:.3f}); largest rise "
        f"{b['rise_significance']:.1f} sigma"
    )
    if b["flat"]:
        console.print(
            "[yellow]the profile is flat: no h_z of the grid is disfavoured by 2 bootstrap sigma, so these data do not "
            "locate h_z; quote the fits at fixed h_z (the disk mass / h_z trade-off) instead[/yellow]"
        )
    elif b["at_edge"]:
        console.print("[yellow]the minimum is at the grid edge: widen the grid[/yellow]")
    truth = (d.get("catalogue") or cfg.get("catalogue") or {}).get("truth")
    if truth:
        console.print(f"truth: M_disk/M*_disk {truth['disk_mass_factor']:g}, h_z {truth['h_z_kpc']:g} kpc")


def _plot_profile(path: Path, outdir: Path, fmt: str) -> list[str]:
    """``oti plot PROFILE.h5``: the h_z profile figure; returns the files written."""
    import matplotlib.pyplot as plt

    from ..plotting.oti_results import plot_hz_profile
    from ..torusimaging.profile import read_oti_profile

    prof = read_oti_profile(path)
    truth_d = (prof.config.get("catalogue") or {}).get("truth")
    truth = None if not truth_d else (truth_d["disk_mass_factor"], truth_d["h_z_kpc"])
    fig = plot_hz_profile(
        prof.h_z_grid, prof.delta_statistic, prof.delta_statistic_std, prof.mean[:, 0], prof.std[:, 0],
        best=prof.best_h_z, interval=prof.interval, truth=truth, flat=prof.flat, title=f"OTI h_z profile: {path.name}",
    )
    outdir.mkdir(parents=True, exist_ok=True)
    out = outdir / f"oti_hz_profile.{fmt}"
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return [str(out)]


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

    @oti_app.command("fit")
    def fit_command(
        catalogue: Path = typer.Argument(..., help="Mock (oti mock) or APOGEE-like catalogue (oti select output)."),
        elements: str = typer.Option(..., "--elements", help="Comma-separated abundance ratios, e.g. FE_H,O_FE."),
        output: Path = typer.Option(..., "--output", "-o", help="HDF5 result file to write (atomically)."),
        n_bootstrap: int = typer.Option(128, "--bootstrap", min=2, help="Bootstrap trials (PW2021: 128)."),
        free: str = typer.Option(
            "disk_mass_factor,h_z,z_sun,v_z_sun", "--free", help="Comma-separated parameters to optimise (others fixed at fiducial)."
        ),
        method: str = typer.Option(
            "gauss-newton", "--method",
            help="gauss-newton (all trials on one finite-difference stencil; fast), nelder-mead (PW2021, per trial) "
            "or gradient (L-BFGS-B with autodiff, per trial).",
        ),
        joint: str = typer.Option(
            "inverse-covariance", "--joint",
            help="How ratios are combined: inverse-covariance (PW2021: combine per-element estimates) or stacked "
            "(gauss-newton only: all elements in one least-squares fit per trial on a shared resample; use it with "
            "all four parameters free).",
        ),
        k: int = typer.Option(64, "--k", min=1, help="Action-space neighbours per star (PW2021: 64)."),
        metric: str = typer.Option("spread", "--metric", help="Neighbour metric: spread (scale fixed at the fiducial model) or raw."),
        workers: int | None = typer.Option(None, "--workers", min=1, help="Local worker processes (default all cores; 1 = serial)."),
        scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786."),
        seed: int = typer.Option(0, "--seed", min=0, help="Bootstrap seed (trial t of column c: default_rng(\\[seed, t, c]))."),
        maxiter: int | None = typer.Option(None, "--maxiter", min=1, help="Iteration limit (Nelder-Mead/gradient: default 200 per free parameter; Gauss-Newton: stencil iterations, default 6)."),
        xatol: float = typer.Option(0.01, "--xatol", min=0.0, help="Nelder-Mead/gradient parameter tolerance in optimiser steps."),
        fatol: float = typer.Option(0.01, "--fatol", min=0.0, help="Objective tolerance (normalised)."),
        a2_scan: str | None = typer.Option(None, "--a2-scan", help="LO,HI,N: also scan a2 over disk mass factors for the first element."),
        scan_bootstrap: int = typer.Option(16, "--scan-bootstrap", min=2, help="Bootstrap resamples per scan point."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists."),
        show_progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
        as_json: bool = typer.Option(False, "--json", help="Print the Table-1 summary as JSON on stdout."),
    ) -> None:
        """Bootstrap OTI inference of (M_disk/M*_disk, h_z, z_sun, v_z,sun) per element and joint (PW2021 Sec. 6.2)."""
        names = _split(elements, "--elements")
        free_names = _checked_free(free, method, joint, metric)
        if joint == "stacked" and (method != "gauss-newton" or len(names) < 2):
            _fail("--joint stacked needs --method gauss-newton and at least two --elements")
        grid = _scan_grid(a2_scan) if a2_scan is not None else None
        if output.exists() and not overwrite:
            _fail(f"output file {str(output)!r} exists; pass --overwrite")

        from ..torusimaging import a2_scan as run_a2_scan
        from ..torusimaging import bootstrap_inference
        from ..torusimaging.catalogue import read_oti_fit_extras, write_oti_fit

        try:
            cat, setup, x0, executor = _fit_inputs(catalogue, names, k, metric, workers, scheduler, show_progress)
            setup = setup.fix_scale(cat.data, x0)
            fit_options = {"xatol": xatol, "fatol": fatol} if method != "gauss-newton" else {}
            fit_options.update(_maxiter_option(method, maxiter))
            result = bootstrap_inference(
                cat.data, n_bootstrap=n_bootstrap, executor=executor, seed=seed, x0=x0,
                method=method, setup=setup, free=free_names, joint=joint, **fit_options,
            )
            scan, scan_info = None, None
            if grid is not None:
                scan = run_a2_scan(cat.data, ratio=0, mass_factors=grid, theta=x0, setup=setup,
                                   n_bootstrap=scan_bootstrap, seed=seed, executor=executor)
                scan_info = {"ratio": cat.data.ratio_names[0], "theta": [float(v) for v in x0],
                             "n_bootstrap": int(scan_bootstrap)}
            extras = {"catalogue": cat.describe(), "command": "diskorbits oti fit"}
            write_oti_fit(output, result, extras=extras, scan=scan, scan_info=scan_info)
            summary, extras, scan, scan_info = read_oti_fit_extras(output)
        except (FileNotFoundError, ValueError, TypeError) as exc:
            _fail(str(exc))
        t1 = _table1(summary, extras, scan_info, scan)
        t1["output"] = str(output)
        if as_json:
            typer.echo(json.dumps(t1, indent=2, default=str))
        else:
            _print_table1(t1, f"OTI fit: {catalogue.name} ({cat.data.n_stars} stars)")
            typer.echo(f"wrote {output}")

    @oti_app.command("profile")
    def profile_command(
        catalogue: Path = typer.Argument(..., help="Mock (oti mock) or APOGEE-like catalogue (oti select output)."),
        elements: str = typer.Option(..., "--elements", help="Comma-separated abundance ratios, e.g. FE_H,O_FE."),
        h_z: str = typer.Option(..., "--h-z", help="Comma-separated fixed scale heights, kpc (>= 3 values > 0), e.g. 0.20,0.24,0.28,0.32,0.36."),
        output: Path = typer.Option(..., "--output", "-o", help="HDF5 profile file to write (atomically)."),
        n_bootstrap: int = typer.Option(128, "--bootstrap", min=2, help="Bootstrap trials per h_z (PW2021: 128)."),
        free: str = typer.Option(
            "disk_mass_factor,z_sun,v_z_sun", "--free", help="Comma-separated parameters fitted at each h_z (not h_z; others fixed at fiducial)."
        ),
        method: str = typer.Option("gauss-newton", "--method", help="gauss-newton, nelder-mead or gradient (as 'oti fit')."),
        joint: str | None = typer.Option(
            None, "--joint",
            help="stacked or inverse-covariance: the estimate at which the statistic is evaluated (default stacked "
            "for gauss-newton with >= 2 elements).",
        ),
        k: int = typer.Option(64, "--k", min=1, help="Action-space neighbours per star (PW2021: 64)."),
        metric: str = typer.Option("spread", "--metric", help="Neighbour metric: spread (scale fixed at the fiducial model) or raw."),
        workers: int | None = typer.Option(None, "--workers", min=1, help="Local worker processes (default all cores; 1 = serial)."),
        scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786."),
        seed: int = typer.Option(0, "--seed", min=0, help="Bootstrap seed (the same resamples at every h_z)."),
        maxiter: int | None = typer.Option(None, "--maxiter", min=1, help="Iteration limit (Gauss-Newton: stencil iterations, default 6)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists."),
        show_progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
        as_json: bool = typer.Option(False, "--json", help="Print the profile as JSON on stdout."),
    ) -> None:
        """Profile over fixed h_z: fit the free parameters at each scale height, report the statistic and the best h_z."""
        import dataclasses

        names = _split(elements, "--elements")
        grid = _h_z_grid(h_z)
        free_names = _checked_free(free, method, joint, metric)
        if output.exists() and not overwrite:
            _fail(f"output file {str(output)!r} exists; pass --overwrite")

        from ..torusimaging import profile_inference as run_profile
        from ..torusimaging.profile import write_oti_profile

        try:
            cat, setup, x0, executor = _fit_inputs(catalogue, names, k, metric, workers, scheduler, show_progress)
            prof = run_profile(
                cat.data, h_z_grid=grid, free=free_names, n_bootstrap=n_bootstrap, executor=executor, seed=seed,
                x0=x0, method=method, setup=setup, joint=joint, **_maxiter_option(method, maxiter),
            )
            prof = dataclasses.replace(
                prof, config={**prof.config, "catalogue": cat.describe(), "command": "diskorbits oti profile"}
            )
            write_oti_profile(output, prof)
        except (FileNotFoundError, ValueError, TypeError) as exc:
            _fail(str(exc))
        d = prof.to_dict()
        d["output"] = str(output)
        if as_json:
            typer.echo(json.dumps(d, indent=2, default=str))
        else:
            _print_profile(d, f"OTI h_z profile: {catalogue.name} ({cat.data.n_stars} stars)")
            typer.echo(f"wrote {output}")

    @oti_app.command("summary")
    def summary_command(
        result: Path = typer.Argument(..., help="HDF5 result of 'diskorbits oti fit' or 'oti profile'."),
        as_json: bool = typer.Option(False, "--json", help="Print the table as JSON on stdout."),
    ) -> None:
        """Table 1 of PW2021: per-element and joint estimates, with the paper's values alongside (or an h_z profile)."""
        from ..torusimaging.catalogue import read_oti_fit_extras

        if _is_profile(result):
            from ..torusimaging.profile import read_oti_profile

            d = read_oti_profile(result).to_dict()
            d["file"] = str(result)
            if as_json:
                typer.echo(json.dumps(d, indent=2, default=str))
            else:
                _print_profile(d, f"OTI h_z profile: {result.name}")
            return
        try:
            summary, extras, scan, scan_info = read_oti_fit_extras(result)
        except (FileNotFoundError, ValueError, KeyError) as exc:
            _fail(str(exc))
        t1 = _table1(summary, extras, scan_info, scan)
        t1["file"] = str(result)
        if as_json:
            typer.echo(json.dumps(t1, indent=2, default=str))
        else:
            _print_table1(t1, f"OTI result: {result.name}")

    @oti_app.command("plot")
    def plot_command(
        result: Path = typer.Argument(..., help="HDF5 result of 'diskorbits oti fit' or 'oti profile'."),
        outdir: Path = typer.Option(..., "--output", "-o", help="Folder for the figures (created)."),
        catalogue: Path | None = typer.Option(
            None, "--catalogue", help="Catalogue for the Fig. 5 panels (default: the path stored in RESULT)."
        ),
        fmt: str = typer.Option("png", "--format", help="Figure format: png, pdf or svg."),
        n_fits: int = typer.Option(16, "--bootstrap-fits", min=0, help="Bootstrap Fourier fits drawn per Fig. 5 panel."),
        as_json: bool = typer.Option(False, "--json", help="Print the written files as JSON on stdout."),
    ) -> None:
        """Figures in the style of PW2021 Figs. 5-7: deviation vs angle, coefficients vs disk mass, error ellipses."""
        if fmt not in ("png", "pdf", "svg"):
            _fail(f"--format must be png, pdf or svg; got {fmt!r}")
        if _is_profile(result):  # a file of 'oti profile': one figure, statistic and disk mass against h_z
            import matplotlib

            matplotlib.use("Agg", force=False)
            written = _plot_profile(result, outdir, fmt)
            if as_json:
                typer.echo(json.dumps({"written": written, "skipped": []}, indent=2))
            else:
                for w in written:
                    typer.echo(f"wrote {w}")
            return
        from ..torusimaging.catalogue import read_oti_fit_extras

        try:
            _, extras, scan, scan_info = read_oti_fit_extras(result)
        except (FileNotFoundError, ValueError, KeyError) as exc:
            _fail(str(exc))
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from ..plotting.oti_results import plot_error_ellipses, to_report_units
        from ..plotting.torusimaging import plot_coefficients_vs_mass
        from ..torusimaging.catalogue import PW2021_TABLE1
        from ..torusimaging.inference import read_oti_result

        outdir.mkdir(parents=True, exist_ok=True)
        written, skipped = [], []
        inf = read_oti_result(result)
        truth_d = extras.get("catalogue", {}).get("truth")
        truth = None if not truth_d else [truth_d[_TRUTH_KEYS[n]] for n in ("disk_mass_factor", "h_z", "z_sun", "v_z_sun")]
        # Fig. 7: error ellipses
        est = {name: to_report_units(e.mean, e.covariance, e.samples) for name, e in inf.estimates.items()}
        try:
            j = inf.joint
            joint = to_report_units(j.mean, j.covariance)[:2]
        except ValueError as exc:  # an unconstrained direction: no joint estimate
            joint = None
            skipped.append(f"joint ellipse ({exc})")
        ref = {k: ([d[n][0] for n in _TRUTH_KEYS], [d[n][1] for n in _TRUTH_KEYS]) for k, d in PW2021_TABLE1.items()}
        fig = plot_error_ellipses(est, joint=joint, truth=truth, reference=ref, title=f"OTI: {result.name}")
        path = outdir / f"oti_ellipses.{fmt}"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(str(path))
        # Fig. 6: coefficients vs disk mass
        if scan is not None:
            fig = plot_coefficients_vs_mass(
                scan.mass_factors, scan.mean, scan.std, truth=None if truth is None else truth[0],
                title=f"{scan_info.get('ratio', '')}: Fourier coefficients vs disk mass",
            )
            path = outdir / f"oti_coefficients_vs_mass.{fmt}"
            fig.savefig(path, dpi=120)
            plt.close(fig)
            written.append(str(path))
        else:
            skipped.append("coefficients vs disk mass (no a2 scan stored; run 'oti fit --a2-scan LO,HI,N')")
        # Fig. 5: deviation vs angle at the best fit
        cat_path = catalogue or (Path(extras["catalogue"]["path"]) if extras.get("catalogue", {}).get("path") else None)
        if cat_path is None or not Path(cat_path).exists():
            skipped.append(f"deviation vs angle (catalogue {str(cat_path)!r} not available; pass --catalogue)")
        else:
            try:
                best = inf.joint.mean if joint is not None else next(iter(inf.estimates.values())).mean
                fig = _deviation_figure(cat_path, list(inf.estimates), best, inf.setup, n_fits,
                                        int(inf.config.get("seed", 0)))
            except (FileNotFoundError, ValueError) as exc:
                skipped.append(f"deviation vs angle ({exc})")
            else:
                path = outdir / f"oti_deviation_vs_angle.{fmt}"
                fig.savefig(path, dpi=120)
                plt.close(fig)
                written.append(str(path))
        if as_json:
            typer.echo(json.dumps({"written": written, "skipped": skipped}, indent=2))
        else:
            for w in written:
                typer.echo(f"wrote {w}")
            for s_ in skipped:
                typer.secho(f"skipped: {s_}", err=True, fg=typer.colors.YELLOW)

    app.add_typer(oti_app, name="oti")


def _deviation_figure(path, elements, theta, setup, n_fits: int, seed: int):
    """PW2021 Fig. 5: Delta vs theta_z per element at ``theta`` with bootstrap Fourier fits."""
    import warnings

    import matplotlib.pyplot as plt
    import numpy as np

    from ..actions import ActionWarning, compute_actions
    from ..plotting.torusimaging import plot_deviation_vs_angle
    from ..torusimaging import abundance_deviations, fit_fourier
    from ..torusimaging.catalogue import load_oti_catalogue
    from ..torusimaging.objective import galactocentric_cylinder, model_at

    data = load_oti_catalogue(path, elements).data
    pot, _ = model_at(theta, setup)
    cyl = galactocentric_cylinder(theta, data, setup)
    kw = {} if setup.action_method is None else {"method": setup.action_method}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ActionWarning)
        res = compute_actions(pot, *cyl, **kw)
    J, ok, th = np.asarray(res.actions), np.asarray(res.ok), np.asarray(res.theta_z)
    good = np.flatnonzero(ok)
    if good.size <= setup.k:
        raise ValueError(f"only {good.size} stars with valid actions for k = {setup.k}")
    fig, axes = plt.subplots(1, len(elements), figsize=(5.5 * len(elements), 4.0), layout="constrained", squeeze=False)
    for r, (name, ax) in enumerate(zip(elements, axes[0])):
        e = data.abundance_errors

        def deviations(rows, r=r, e=e):
            d = abundance_deviations(J[rows], data.abundances[rows, r], None if e is None else e[rows, r],
                                     k=int(setup.k), scale=setup.fixed_scale, ids=data.ids[rows], weighting=setup.weighting)
            return np.asarray(d.deviation), np.asarray(d.deviation_error)

        dev, err = deviations(good)
        fits = []
        for t in range(n_fits):
            rows = good[np.random.default_rng([seed, t]).integers(0, good.size, good.size)]
            dv, er = deviations(rows)
            fits.append(np.asarray(fit_fourier(th[rows], dv, er).coefficients))
        if not fits:
            fits = np.asarray(fit_fourier(th[good], dev, err).coefficients)
        plot_deviation_vs_angle(th[good], dev, np.asarray(fits), ax=ax, title=f"{name} at the best fit")
    return fig
