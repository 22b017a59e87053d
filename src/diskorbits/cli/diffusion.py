"""``diskorbits diffusion``: action-space diffusion coefficients, fits and Langevin runs (Modak et al. 2026).

A thin layer over :mod:`diskorbits.diffusion` and :mod:`diskorbits.plotting.diffusion`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

__all__ = ["register"]

diffusion_app = typer.Typer(
    name="diffusion",
    help="Action-space diffusion: coefficients (presets, environment scaling), fit to runs, Langevin evolution.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


def _pair(text: Optional[str], name: str) -> Optional[tuple[float, float]]:
    """'a' -> (a, a); 'a,b' -> (a, b)."""
    if text is None:
        return None
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        _fail(f"{name} must be a number or 'LONG,SHORT', got {text!r}")
    if len(vals) == 1:
        return vals[0], vals[0]
    if len(vals) != 2:
        _fail(f"{name} takes one value or two ('LONG,SHORT'), got {text!r}")
    return vals[0], vals[1]


def _coefficient_table(info: dict, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for col in ("", "regime", "d", "alpha", "turnover"):
        t.add_column(col, justify="left" if col in ("", "regime") else "right")
    for comp in ("D_RR", "D_phiphi"):
        c = info[comp]
        for regime, label in (("long", "J_R << J_*"), ("short", "J_R >> J_*")):
            t.add_row(
                comp,
                label,
                f"{c[regime]['coefficient']:.4g}",
                f"{c[regime]['alpha']:g}",
                f"{c['turnover_kpc_kms']:.3f} ({c['turnover_over_J_star']:.1f} J_*)" if regime == "long" else "",
            )
    console = Console()
    console.print(t)
    console.print("D = d (J_R / kpc km/s)^alpha in (kpc km/s)^2/Gyr; turnover in kpc km/s (Sec. III.3)")
    console.print(f"J_* = {info['J_star_kpc_kms']:.3f} kpc km/s (Eq. 42/51)")
    if info.get("late_ratio") is not None:
        console.print(
            f"late rms dJ_R / rms dJ_phi = {info['late_ratio']:.4f} (Eq. 39); "
            f"{info['late_ratio_self_similar']:.4f} for the exact (self-similar) solution a Langevin run approaches"
        )
    if info.get("late_ratio_eq56") is not None:
        console.print(f"Eq. 56 estimate (neglects xi_RR != xi_phiphi) = {info['late_ratio_eq56']:.4f}")


def _print_fit(info: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    n = info["n_stars"]
    t = Table(title=f"diffusion fit: {info['label']} ({n if n is not None else 'rms curves'} stars)")
    for col in ("regime", "window [Gyr]", "D_RR", "D_phiphi", "free slopes dJ_R, dJ_phi (expected)"):
        t.add_column(col, justify="left" if col == "regime" else "right")
    for regime, r in info["regimes"].items():
        if r is None:
            t.add_row(regime, "-", "not fitted", info["notes"].get(regime, ""), "")
            continue

        def fmt(est):
            err = f" ± {est['std']:.2g}" if est.get("std") is not None else ""
            return f"{est['coefficient']:.4g}{err}"

        sl = r["free_slopes"]
        slopes = ", ".join(
            f"{sl[k]['slope']:.2f} ({sl[k]['expected']:.2f})" for k in ("rms_dJR", "rms_dJphi") if sl.get(k)
        )
        w = r["window_myr"]
        t.add_row(regime, f"{w[0] / 1e3:.3g}-{w[1] / 1e3:.3g}", fmt(r["D_RR"]), fmt(r["D_phiphi"]), slopes)
    console = Console()
    console.print(t)
    console.print("D in (kpc km/s)^2/Gyr at J_R = 1 kpc km/s; long: D_RR ~ J_R, D_phiphi const; short: both ~ J_R^-1/2")
    if info.get("late_ratio"):
        lr = info["late_ratio"]
        err = f" ± {lr['std']:.2g}" if lr.get("std") is not None else ""
        how = "Eq. 39" if info["closure"] == "exponential" else "self-similar closure, half of Eq. 39's form"
        console.print(f"late rms dJ_R / rms dJ_phi of the fit ({how}) = {lr['value']:.4f}{err}")
    console.print(f"closure: {info['closure']}; " + info["bootstrap_note"])
    for regime, r in info["regimes"].items():
        for w in (r or {}).get("warnings", []):
            console.print(f"[yellow]warning ({regime}):[/yellow] {w}")


def _print_langevin(s: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = f"{s.get('name') or 'Langevin run'}: {s['n_stars']:,} stars, t = {s.get('t_gyr', 0):.3g} Gyr"
    if not s["complete"]:
        title += " (unfinished checkpoint)"
    t = Table(title=title)
    t.add_column("quantity")
    t.add_column("Langevin", justify="right")
    t.add_column("Eqs. 29-30 short / long", justify="right")
    t.add_column("self-similar short", justify="right")
    t.add_column("unit")
    if "t_gyr" not in s:
        console.print(t)
        return
    e, ss = s["eq29_30"], s["self_similar"]
    t.add_row("rms dJ_R", f"{s['rms_dJR_kpckms']:.4g}",
              f"{e['short']['rms_dJR_kpckms']:.4g} / {e['long']['rms_dJR_kpckms']:.4g}",
              f"{ss['short']['rms_dJR_kpckms']:.4g}", "kpc km/s")  # fmt: skip
    t.add_row("rms dJ_phi", f"{s['rms_dJphi_kpckms']:.4g}",
              f"{e['short']['rms_dJphi_kpckms']:.4g} / {e['long']['rms_dJphi_kpckms']:.4g}",
              f"{ss['short']['rms_dJphi_kpckms']:.4g}", "kpc km/s")  # fmt: skip
    ratio39, ratio_ss = s.get("late_ratio_eq39"), s.get("late_ratio_self_similar")
    t.add_row("rms dJ_R / rms dJ_phi", f"{s['ratio']:.4f}", f"{ratio39:.4f} (Eq. 39)" if ratio39 else "",
              f"{ratio_ss:.4f}" if ratio_ss else "", "")  # fmt: skip
    t.add_row("<J_R>", f"{s['mean_JR_kpckms']:.4g}", "", "", "kpc km/s")
    t.add_row("sigma_R = (kappa <J_R>)^1/2", f"{s['sigma_R_kms']:.3f}", "", "", "km/s")
    for name, fits in s.get("slopes", {}).items():
        for regime, fit in (fits or {}).items():
            if fit is not None:
                a, b = fit["window_gyr"]
                t.add_row(f"slope {name} ({regime}, {a:.2g}-{b:.2g} Gyr)", f"{fit['slope']:.3f}", "", "", "")
    console.print(t)
    console.print(
        f"coefficients {s['coefficients']}, dt {s['dt_myr']:.3g} Myr ({s['steps']} steps), seed {s['seed']}, "
        f"diskorbits {s['version']}"
    )
    console.print(
        f"steps with |dJ_R|/J_R > 0.3 above the turnover: {s['big_kick_fraction_max']:.1%} at most (the scheme "
        "is exact below the turnover and converged to ~0.1% at the default step; docs/diffusion.md)"
    )


def register(app: typer.Typer) -> None:
    @diffusion_app.command("coefficients")
    def coefficients_command(
        preset: Optional[str] = typer.Option(
            None, "--preset", help="Measured coefficients: R8 (Eqs. 40-41), LGR4 (A1-A2), LGR4-predicted (A3-A4)."
        ),
        sigma_bar: Optional[float] = typer.Option(None, "--sigma-bar", help="Mean gas surface density, Msun/pc^2."),
        lambda_star: float = typer.Option(600.0, "--lambda-star", help="Dominant fluctuation wavelength, pc."),
        tau_star: float = typer.Option(70.0, "--tau-star", help="Correlation time of the dominant fluctuations, Myr."),
        kappa: float = typer.Option(40.0, "--kappa", help="Epicyclic frequency, km/s/kpc."),
        radius: float = typer.Option(8.0, "--R", help="Galactocentric radius, kpc."),
        alpha_w: float = typer.Option(0.71, "--alpha-w", help="h/H of the gas profile (Eq. 47)."),
        n_delta: float = typer.Option(2.3, "--n-delta", help="Index of the surface-density spectrum (Eq. 18)."),
        xi: Optional[str] = typer.Option(
            None, "--xi", help="Vertical suppression xi (Eq. 44): one value or 'LONG,SHORT'. Default: from --sigma-z, else 1."
        ),
        sigma_z: Optional[str] = typer.Option(
            None, "--sigma-z", help="Vertical dispersion (km/s), one value or 'LONG,SHORT': xi from Eq. 46."
        ),
        gas: str = typer.Option("R8", "--gas", help="Gas profile and thickness H for Eq. 46: R8 or LGR4 preset."),
        gas_h: Optional[float] = typer.Option(None, "--gas-H", help="Override the gas rms thickness H, pc."),
        nu: Optional[float] = typer.Option(
            None, "--nu", help="Vertical frequency for Eq. 46, km/s/kpc (default: the --gas preset's box)."
        ),
        scale: float = typer.Option(1.0, "--scale", min=0.0, help="Multiply both coefficients (A^2, or a known xi)."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
        plot: Optional[Path] = typer.Option(None, "--plot", help="Save a figure of D_RR(J_R) and D_phiphi(J_R)."),
    ) -> None:
        """Diffusion coefficients from a paper preset or scaled to an environment (Eqs. 50-56)."""
        from .. import units
        from ..diffusion import (
            Environment,
            diffusion_preset,
            late_ratio_scaling,
            scale_coefficients,
        )
        from ..diffusion.environment import suppression_for_dispersion

        if (preset is None) == (sigma_bar is None):
            _fail("give either --preset R8|LGR4|LGR4-predicted or an environment (--sigma-bar ... )")
        env = None
        try:
            if preset is not None:
                D = diffusion_preset(preset)
            else:
                xis = _pair(xi, "--xi")
                if xis is None and sigma_z is not None:
                    from ..ism import ism_preset
                    from ..shearingbox import box_preset

                    model = ism_preset(gas)
                    H = model.H if gas_h is None else gas_h * 1e-3
                    nu_int = float(box_preset(gas).vertical.nu) if nu is None else nu * units.KMS_KPC
                    k_star = 2 * 3.141592653589793 / (lambda_star * 1e-3)
                    sz = _pair(sigma_z, "--sigma-z")
                    xis = tuple(
                        float(v)
                        for v in suppression_for_dispersion(
                            [s * units.KMS for s in sz], k_star=k_star, H=H, nu=nu_int, profile=model.profile
                        )
                    )
                env = Environment.from_paper_units(
                    sigma_bar=sigma_bar, lambda_star=lambda_star, tau_star=tau_star, kappa=kappa, R=radius,
                    alpha_w=alpha_w, n_delta=n_delta, xi=xis if xis is not None else 1.0,
                )  # fmt: skip
                D = scale_coefficients(env, name="environment")
            if scale != 1.0:
                D = D.scaled(scale)
        except ValueError as exc:
            _fail(str(exc))
        info = D.to_paper_units()
        if env is not None:
            info["environment"] = env.to_paper_units()
            info["late_ratio_eq56"] = late_ratio_scaling(env)
        if scale != 1.0:
            info["scale"] = scale
        if plot is not None:
            from ..plotting.diffusion import plot_coefficients

            plot_coefficients(D, labels=[D.name], save=plot)
            info["plot"] = str(plot)
        if as_json:
            typer.echo(json.dumps(info, indent=2))
            return
        _coefficient_table(info, f"diffusion coefficients: {D.name}")
        if env is not None:
            e = info["environment"]
            typer.echo(
                f"environment: Sigma_bar {e['sigma_bar_msun_pc2']:g} Msun/pc^2, lambda_* {e['lambda_star_pc']:g} pc, "
                f"tau_* {e['tau_star_myr']:g} Myr, kappa {e['kappa_kms_kpc']:.4g} km/s/kpc, R {e['R_kpc']:g} kpc, "
                f"alpha_w {e['alpha_w']:g}, xi (long, short) {e['xi']['RR']}"
            )
        if plot is not None:
            typer.echo(f"wrote {plot}")


    @diffusion_app.command("fit")
    def fit_command(
        source: Path = typer.Argument(..., help="Shearing-box run file (.h5) or a table (CSV/ECSV/FITS/Parquet)."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
        n_bootstrap: int = typer.Option(200, "--bootstrap", min=0, help="Bootstrap resamplings of the stars."),
        seed: int = typer.Option(0, "--seed", min=0, help="Seed of the bootstrap."),
        long_window: Optional[str] = typer.Option(
            None, "--long-window", help="Long-wavelength window 'T0,T1' in Gyr (default: automatic)."
        ),
        short_window: Optional[str] = typer.Option(
            None, "--short-window", help="Short-wavelength window 'T0,T1' in Gyr (default: automatic)."
        ),
        j_star: Optional[float] = typer.Option(
            None, "--J-star", help="J_* in kpc km/s (needed for tables with automatic windows)."
        ),
        closure: str = typer.Option(
            "exponential",
            "--closure",
            help="exponential: the paper's Eqs. 29-30 (compare with Eqs. 40-41); self-similar: exact solution of "
            "Eq. 26, the coefficients whose Langevin evolution reproduces the data.",
        ),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the fit as JSON (Langevin input)."),
        plot: Optional[Path] = typer.Option(None, "--plot", help="Save a figure: data, bootstrap band, fitted lines."),
    ) -> None:
        """Fit D_RR and D_phiphi in each regime to rms action changes (Eqs. 27-30, C5), bootstrap over stars."""
        from .. import units
        from ..diffusion import ActionChanges, fit_diffusion, write_fit_json

        if not source.exists():
            _fail(f"no such file: {source}")
        windows = "auto"
        if long_window is not None or short_window is not None:
            windows = {}
            for regime, text in (("long", long_window), ("short", short_window)):
                if text is not None:
                    a, b = _pair(text, f"--{regime}-window")
                    windows[regime] = (a * units.GYR, b * units.GYR)
        Js = None if j_star is None else j_star * units.KPC_KMS
        try:
            if source.suffix.lower() in (".h5", ".hdf5"):
                data = ActionChanges.from_run(source)
            else:
                data = ActionChanges.from_table(source, J_star=Js)
            fit = fit_diffusion(data, windows=windows, n_bootstrap=n_bootstrap, seed=seed, J_star=Js, closure=closure)
        except (FileNotFoundError, ValueError, OSError, KeyError) as exc:
            _fail(str(exc))
        info = fit.to_dict()
        if output is not None:
            write_fit_json(fit, output)
            info["output"] = str(output)
        if plot is not None:
            from ..plotting.diffusion import plot_fit

            plot_fit(fit, data, save=plot)
            info["plot"] = str(plot)
        if as_json:
            typer.echo(json.dumps(info, indent=2))
            return
        _print_fit(info)
        for key in ("output", "plot"):
            if key in info:
                typer.echo(f"wrote {info[key]}")

    @diffusion_app.command("evolve")
    def evolve_command(
        config: Path = typer.Argument(..., help="Langevin configuration (TOML); see configs/diffusion/."),
        output: Path = typer.Option(..., "--output", "-o", help="HDF5 run file (checkpoints go into it too)."),
        n_stars: Optional[int] = typer.Option(None, "--n-stars", min=1, help="Override run.n_stars."),
        duration: Optional[float] = typer.Option(None, "--duration-gyr", min=0.0, help="Override run.duration_gyr."),
        seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Override run.seed."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT instead of resuming it."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
        show_progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
    ) -> None:
        """Evolve a population with the Langevin equation (Eqs. 26, 43-44); resumes OUTPUT if present."""
        from ..diffusion.langevin_config import ConfigError, load_langevin_config
        from ..diffusion.langevin_run import run_langevin
        from ..progress import RichProgress

        try:
            cfg = load_langevin_config(config)
            over = {k: v for k, v in (("n_stars", n_stars), ("duration_gyr", duration), ("seed", seed)) if v is not None}
            if over:
                cfg = cfg.replace(run=over)
            result = run_langevin(
                cfg, output, progress=RichProgress() if show_progress else None, resume=not overwrite, overwrite=overwrite
            )
        except (ConfigError, FileNotFoundError, FileExistsError, ValueError) as exc:
            _fail(str(exc))
        summary = result.summary()
        summary["output"] = str(output)
        if as_json:
            typer.echo(json.dumps(summary, indent=2))
        else:
            _print_langevin(summary)
            typer.echo(f"wrote {output}")

    @diffusion_app.command("summary")
    def summary_command(
        run_file: Path = typer.Argument(..., help="Run file written by `diskorbits diffusion evolve`."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
    ) -> None:
        """Final rms action changes, their ratio, slopes and the analytic predictions of a Langevin run."""
        from ..diffusion.langevin_run import read_langevin

        try:
            run = read_langevin(run_file)
        except (FileNotFoundError, ValueError, OSError) as exc:
            _fail(str(exc))
        s = run.summary()
        if as_json:
            typer.echo(json.dumps(s, indent=2))
        else:
            _print_langevin(s)

    @diffusion_app.command("plot")
    def plot_command(
        run_files: list[Path] = typer.Argument(..., help="Langevin run files (diffusion evolve) to overplot."),
        data: Optional[list[Path]] = typer.Option(
            None, "--data", help="Shearing-box run files (ism run) to compare with (repeatable)."
        ),
        analytic: bool = typer.Option(True, "--analytic/--no-analytic", help="Add Eqs. 29-30 of the first run's coefficients."),
        output: Path = typer.Option(Path("diffusion_rms.png"), "--output", "-o", help="PNG figure."),
    ) -> None:
        """rms dJ_R, rms dJ_phi and their ratio vs time: Langevin runs (model) against shearing-box runs (data)."""
        from ..diffusion.langevin_run import read_langevin
        from ..plotting.diffusion import plot_rms_curves

        try:
            runs = [read_langevin(p) for p in run_files]
            series = []
            for p in data or []:
                from ..diffusion import ActionChanges

                d = ActionChanges.from_run(p)
                R, P = d.rms()
                series.append({"label": f"{d.label} (shearing box)", "t_myr": d.t_myr, "rms_dJR": R, "rms_dJphi": P,
                               "kind": "data"})  # fmt: skip
        except (FileNotFoundError, ValueError, OSError) as exc:
            _fail(str(exc))
        for p, run in zip(run_files, runs):
            series.append({"label": f"{run.config.name or p.stem} (Langevin)", "t_myr": run.t_myr,
                           "rms_dJR": run.stats["rms_dJR"], "rms_dJphi": run.stats["rms_dJphi"], "kind": "model"})  # fmt: skip
        if analytic and runs:
            import numpy as np

            D = runs[0].coefficients()
            t = np.asarray(runs[0].t_myr)
            t = t[t > 0]
            for regime in ("long", "short"):
                for closure in ("exponential", "self-similar"):
                    r, q = D.rms_prediction(t, regime, closure)
                    if regime == "long" and closure == "self-similar":
                        continue  # identical to Eqs. 29-30 there
                    name = "Eqs. 29-30" if closure == "exponential" else "exact self-similar"
                    series.append({"label": f"{name}, {regime} wavelength", "t_myr": t, "rms_dJR": np.asarray(r),
                                   "rms_dJphi": np.asarray(q), "kind": "model", "linestyle": ":"})  # fmt: skip
        plot_rms_curves(series, save=output)
        typer.echo(f"wrote {output}")

    app.add_typer(diffusion_app, name="diffusion")
