"""The README's end-to-end demo (``diskorbits demo``).

Today it exercises the dynamics core on real stars: the Kepler-field red giants
of Miglio et al. (2021) with APOGEE abundances and asteroseismic ages. It reads
the catalogue, computes actions, angles, frequencies and orbit extents in
MWPotential2014 rescaled to (8.2 kpc, 235 km/s) as in Frankel et al. (2020),
prints a summary, checks our orbit parameters against the ones the catalogue's
authors integrated (in galpy's MWPotential2014 at 8 kpc, 220 km/s, the
potential we use for that comparison), and writes the table and figures. It
then runs a short cold R8 shearing-box ensemble through the calibrated mock ISM
(Modak et al. 2026) and plots its heating and migration. Later methods add
their own short sections here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

__all__ = ["run_demo", "find_demo_data"]

_DEMO_FILE = "kepler_apogee_miglio2021.fit"


def find_demo_data(path: str | Path | None = None) -> Path:
    """Locate the Kepler sample: ``path`` if given, else ``shared/data`` next to the checkout."""
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"demo data file {str(p)!r} does not exist")
        return p
    here = Path(__file__).resolve()
    candidates = [Path.cwd() / "../shared/data", Path.cwd() / "shared/data"]
    candidates += [parent / "shared/data" for parent in here.parents]
    for c in candidates:
        if (c / _DEMO_FILE).exists():
            return (c / _DEMO_FILE).resolve()
    raise FileNotFoundError(
        f"could not find {_DEMO_FILE} in ../shared/data or shared/data; pass --data PATH to the catalogue"
    )


def _figures(table, outdir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = np.asarray(table["flag"]) == 0
    age = np.asarray(table["Age"], float)[ok]
    JR, Jphi, Jz = (np.asarray(table[k], float)[ok] for k in ("J_R", "J_phi", "J_z"))
    paths = []

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), constrained_layout=True)
    sc = axes[0].scatter(Jphi, JR, c=age, s=4, cmap="viridis", vmin=0, vmax=12, rasterized=True)
    axes[0].set(xlabel=r"$J_\phi = L_z$ [kpc km/s]", ylabel=r"$J_R$ [kpc km/s]", yscale="log")
    axes[1].scatter(Jphi, Jz, c=age, s=4, cmap="viridis", vmin=0, vmax=12, rasterized=True)
    axes[1].set(xlabel=r"$J_\phi = L_z$ [kpc km/s]", ylabel=r"$J_z$ [kpc km/s]", yscale="log")
    axes[2].scatter(np.sqrt(JR), np.sqrt(Jz), c=age, s=4, cmap="viridis", vmin=0, vmax=12, rasterized=True)
    axes[2].set(xlabel=r"$\sqrt{J_R}$ [(kpc km/s)$^{1/2}$]", ylabel=r"$\sqrt{J_z}$ [(kpc km/s)$^{1/2}$]")
    fig.colorbar(sc, ax=axes, label="age [Gyr] (Miglio et al. 2021)")
    fig.suptitle(f"Kepler-field giants: Stäckel-fudge actions in MWPotential2014 ({ok.sum()} stars)")
    paths.append(outdir / "kepler_actions.png")
    fig.savefig(paths[-1], dpi=130)
    plt.close(fig)

    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), constrained_layout=True)
    for ax, (ours, theirs, label) in zip(
        axes,
        [("r_peri", "Rperi", "pericentre [kpc]"), ("r_apo", "Rap", "apocentre [kpc]"),
         ("z_max", "zmax", r"$z_{\max}$ [kpc]"), ("eccentricity", "Ecc", "eccentricity")],
    ):
        x = np.asarray(table[theirs], float)[ok]
        y = np.asarray(table[f"{ours}_mw2014_8_220"], float)[ok]
        ax.scatter(x, y, s=3, alpha=0.5, rasterized=True)
        lim = [np.nanmin([x, y]), np.nanmax([x, y])]
        ax.plot(lim, lim, "k--", lw=0.8)
        ax.set(xlabel=f"Miglio et al. 2021: {label}", ylabel=f"diskorbits: {label}")
    fig.suptitle("Orbit parameters in MWPotential2014 (8 kpc, 220 km/s): ours (Stäckel fudge) vs the catalogue's (orbit integration)")
    paths.append(outdir / "kepler_orbit_parameters.png")
    fig.savefig(paths[-1], dpi=130)
    plt.close(fig)
    return paths


def _authors_potential_parameters(table) -> dict:
    """Orbit extents of the catalogue's stars in MWPotential2014 at galpy's default (8 kpc, 220 km/s)."""
    import warnings

    from . import units
    from .actions import ActionWarning, compute_actions
    from .potentials import MWPotential2014

    k = units.KMS
    cols = [np.asarray(table[c], float) for c in ("GalR", "GalZ", "vR", "vT", "vZ")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ActionWarning)  # flagged stars are excluded below
        res = compute_actions(MWPotential2014(ro=8.0, vo=220.0), cols[0], cols[1], cols[2] * k, cols[3] * k, cols[4] * k)
    return {k_: np.asarray(getattr(res, k_)) for k_ in ("r_peri", "r_apo", "z_max", "eccentricity", "flag")}


def _ism_section(outdir: Path, n_stars: int, duration_gyr: float, progress) -> dict:
    """A short cold R8 shearing-box run through the calibrated mock ISM (Modak et al. 2026)."""
    from .plotting.ism import save_run_figures
    from .shearingbox.config import load_config
    from .shearingbox.run import run_shearing_box

    cfg = load_config(
        {"name": "demo_r8_cold", "run": {"seed": 1, "n_stars": n_stars, "duration_gyr": duration_gyr, "dt_myr": 0.25}}
    )
    t0 = time.perf_counter()
    run = run_shearing_box(cfg, outdir / "ism_r8_cold.h5", progress=progress, overwrite=True)
    summary = run.summary()
    summary["seconds"] = time.perf_counter() - t0
    summary["run_file"] = str(outdir / "ism_r8_cold.h5")
    summary["figures"] = [str(p) for p in save_run_figures(run, outdir, prefix="ism_")]
    return summary


def _diffusion_section(outdir: Path, run_file: Path, langevin_stars: int, paper_stars: int) -> dict:
    """Coefficients fitted to the demo's shearing-box run, Langevin evolution with them, and the
    paper's R8 coefficients evolved for ``paper_stars`` stars over 10 Gyr (Modak et al. 2026, Secs. III.2-III.3)."""
    from .diffusion import (
        PAPER_ACTION,
        ActionChanges,
        diffusion_preset,
        evolve,
        fit_diffusion,
        log_output_times,
        write_fit_json,
    )
    from .plotting.diffusion import _plt, plot_fit, plot_rms_curves

    data = ActionChanges.from_run(run_file)
    fit = fit_diffusion(data, closure="self-similar", n_bootstrap=100, seed=0)
    out = {"fit_file": str(write_fit_json(fit, outdir / "diffusion_fit.json")), "fit": fit.to_dict(), "figures": []}
    _plt().close(plot_fit(fit, data, save=outdir / "diffusion_fit.png"))
    out["figures"].append(str(outdir / "diffusion_fit.png"))
    R, P = data.rms()
    t = data.t_myr[data.t_myr > 0]
    try:
        coeffs = fit.coefficients
    except ValueError as exc:  # a run too short or too small to show both regimes
        out["langevin_vs_run"] = {"skipped": str(exc)}
    else:
        t0 = time.perf_counter()
        lv = evolve(coeffs, np.zeros(langevin_stars), t, seed=1)
        qR = np.asarray(lv.stats["rms_dJR"]) / R[data.t_myr > 0]
        qP = np.asarray(lv.stats["rms_dJphi"]) / P[data.t_myr > 0]
        late = t >= 100.0
        out["langevin_vs_run"] = {
            "n_stars": langevin_stars,
            "seconds": time.perf_counter() - t0,
            "rms_dJR_ratio_range": [float(qR[late].min()), float(qR[late].max())] if late.any() else None,
            "rms_dJphi_ratio_range": [float(qP[late].min()), float(qP[late].max())] if late.any() else None,
        }
        series = [
            {"label": f"shearing box ({data.n_stars} stars)", "t_myr": t, "rms_dJR": R[data.t_myr > 0],
             "rms_dJphi": P[data.t_myr > 0], "kind": "data"},
            {"label": f"Langevin, fitted coefficients ({langevin_stars} stars)", "t_myr": t,
             "rms_dJR": np.asarray(lv.stats["rms_dJR"]), "rms_dJphi": np.asarray(lv.stats["rms_dJphi"]), "kind": "model"},
        ]  # fmt: skip
        _plt().close(plot_rms_curves(series, save=outdir / "diffusion_langevin.png"))
        out["figures"].append(str(outdir / "diffusion_langevin.png"))
    t0 = time.perf_counter()
    big = evolve(diffusion_preset("R8"), np.zeros(paper_stars), log_output_times(10_000.0, 40, 1.0), seed=2)
    K = 1.0 / PAPER_ACTION
    out["paper_r8_langevin"] = {
        "n_stars": paper_stars,
        "seconds": time.perf_counter() - t0,
        "rms_dJR_kpckms": float(big.stats["rms_dJR"][-1]) * K,
        "rms_dJphi_kpckms": float(big.stats["rms_dJphi"][-1]) * K,
        "ratio": float(big.stats["ratio"][-1]),
    }
    return out


def _oti_section(outdir: Path, n_stars: int, n_bootstrap: int) -> dict:
    """Orbital Torus Imaging on a mock with known truth (Price-Whelan et al. 2021, Sec. 6.1):
    the a2 coefficient of [X/Fe] deviations vs theta_z along a grid of disk masses, and its zero crossing."""
    from .plotting.torusimaging import _plt, plot_coefficients_vs_mass
    from .torusimaging import OTIData, OTISetup, a2_scan, fiducial_parameters, load_mock_config

    # configs/oti/mock_small.toml with more stars: truth 1.1, two ratios, a 3 kpc sphere
    cfg = load_mock_config({
        "mock": {"seed": 1, "n_stars": n_stars, "n_steps": 400, "t_min_myr": 500.0, "t_max_myr": 1500.0},
        "potential": {"disk_mass_factor": 1.1, "h_z_kpc": 0.28},
        "selection": {"radius_kpc": 3.0, "pencil_beams": False},
        "abundances": {"ratios": ["FE_H", "O_FE"], "gradient_jphi": [-2.6e-4, 5e-5], "gradient_jz": [-0.004, 0.005],
                       "noise": [0.01, 0.03]},
    })  # fmt: skip
    truth = cfg.doc["potential"]["disk_mass_factor"]
    t0 = time.perf_counter()
    mock = cfg.make()
    data = OTIData.from_mock(mock, ratio_names=cfg.doc["abundances"]["ratios"])
    setup = OTISetup(metric="spread")
    theta = fiducial_parameters(setup)
    setup = setup.fix_scale(data, theta)
    factors = [0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4]
    scan = a2_scan(data, 0, factors, theta=theta, setup=setup, n_bootstrap=n_bootstrap, seed=0)
    fig = plot_coefficients_vs_mass(
        scan.mass_factors, scan.mean, scan.std, truth=truth, title=f"OTI mock ({n_stars} stars, truth {truth})"
    )
    path = outdir / "oti_a2_scan.png"
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return {
        "n_stars": int(data.n_stars),
        "truth_disk_mass_factor": truth,
        "mass_factors": factors,
        "a2_mean": [float(v) for v in scan.mean[:, 3]],
        "a2_std": [float(v) for v in scan.std[:, 3]],
        "crossing": float(scan.crossing),
        "crossing_error": float(scan.crossing_error),
        "n_bootstrap": n_bootstrap,
        "seconds": time.perf_counter() - t0,
        "figures": [str(path)],
    }


def _migration_section(outdir: Path, n_stars: int, n_mc: int) -> dict:
    """A short Frankel et al. (2020) fit on a small mock with known truth: multi-start MLE, Laplace errors."""
    import warnings

    import astropy.units as u

    from .migration import NAMES, build_likelihood, fit, laplace_errors, load_mock_config, rms_delta_lz, table1
    from .migration.likelihood import LikelihoodWarning

    # configs/migration/mock_small.toml: Table 1 truth, no selection within 3 kpc, the paper's noise
    cfg = load_mock_config({
        "mock": {"seed": 1, "n_stars": n_stars}, "parameters": {"preset": "table1"},
        "selection": {"kind": "none", "d_max": 3.0, "b_max": 25.0}, "noise": {"preset": "paper"},
    })  # fmt: skip
    t0 = time.perf_counter()
    mock = cfg.make()
    setup = cfg.setup(cfg.selection())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LikelihoodWarning)
        lik = build_likelihood(mock, setup, n_mc=n_mc, n_volume=20_000, rng=1)
    truth = np.asarray(table1().to_vector())
    path = outdir / "migration_fit.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # start disagreements are in the fit file and printed below
        result = fit(lik, sampler="none", mle_starts=2, mle_options={"guess": truth}, seed=0, path=path, overwrite=True)
    best = result.mle_vector
    # Laplace errors: the curvature of ln L at the MLE, in display units (NaN where it is
    # not curved downwards: an MLE on a face of the box or short of the optimum)
    sd = laplace_errors(lik, best).sd
    to_kpckms = u.kpc * u.km / u.s
    return {
        "n_stars": int(len(mock)),
        "n_mc": n_mc,
        "log_likelihood": float(result.mle.log_likelihood),
        "starts_agree": bool(result.mle.agree),
        "parameters": {
            n: {"truth": float(t), "mle": float(m), "sd": float(e)} for n, t, m, e in zip(NAMES, truth, best, sd)
        },
        "rms_dLz_6gyr_kpckms": {
            "mle": float(rms_delta_lz(best, 6.0 * u.Gyr).to_value(to_kpckms)),
            "truth": float(rms_delta_lz(truth, 6.0 * u.Gyr).to_value(to_kpckms)),
        },
        "seconds": time.perf_counter() - t0,
        "fit_file": str(path),
    }


def run_demo(
    output: str | Path = "demo-output",
    data: str | Path | None = None,
    *,
    workers: int = 1,
    progress=None,
    ism_stars: int = 5000,
    ism_gyr: float = 3.0,
    langevin_stars: int = 100_000,
    paper_langevin_stars: int = 1_000_000,
    oti_stars: int = 4000,
    oti_bootstrap: int = 16,
    migration_stars: int = 500,
    migration_mc: int = 20,
) -> dict:
    """Run the demo; returns a JSON-able summary and writes files to ``output``.

    ``ism_stars`` and ``ism_gyr`` size the shearing-box section (0 stars skips it and the
    diffusion section); ``langevin_stars`` and ``paper_langevin_stars`` size the Langevin runs;
    ``oti_stars`` (0 skips it) and ``oti_bootstrap`` the Orbital Torus Imaging section;
    ``migration_stars`` (0 skips it) and ``migration_mc`` (Monte Carlo samples per star)
    the Frankel et al. (2020) fit.
    """
    from .catalogue_actions import run_actions
    from astropy.table import Table

    outdir = Path(output)
    outdir.mkdir(parents=True, exist_ok=True)
    data = find_demo_data(data)
    t0 = time.perf_counter()
    table_path = outdir / "kepler_actions.fits"
    summary = run_actions(
        data, table_path, potential="mw2014", frame="frankel2020", workers=workers, progress=progress, overwrite=True
    )
    table = Table.read(table_path)
    # The catalogue's own orbit parameters come from orbit integrations in galpy's
    # MWPotential2014 at its default scaling (8 kpc, 220 km/s), as their eccentricities
    # show: for a like-for-like check we recompute ours in that potential.
    authors = _authors_potential_parameters(table)
    elapsed = time.perf_counter() - t0
    ok = np.asarray(authors["flag"]) == 0
    comparison = {}
    for ours, theirs in [("r_peri", "Rperi"), ("r_apo", "Rap"), ("z_max", "zmax"), ("eccentricity", "Ecc")]:
        d = np.asarray(authors[ours], float)[ok] - np.asarray(table[theirs], float)[ok]
        d = d[np.isfinite(d)]
        comparison[ours] = {"median_difference": float(np.median(d)), "median_abs_difference": float(np.median(np.abs(d)))}
        table[f"{ours}_mw2014_8_220"] = np.asarray(authors[ours], float)
    figures = _figures(table, outdir)
    result = {
        "data": str(data),
        "actions": summary,
        "orbit_parameters_vs_catalogue": comparison,
        "seconds": elapsed,
        "figures": [str(p) for p in figures],
        "table": str(table_path),
    }
    if ism_stars > 0:
        result["ism"] = _ism_section(outdir, ism_stars, ism_gyr, progress)
        result["diffusion"] = _diffusion_section(
            outdir, Path(result["ism"]["run_file"]), langevin_stars, paper_langevin_stars
        )
    if oti_stars > 0:
        result["oti"] = _oti_section(outdir, oti_stars, oti_bootstrap)
    if migration_stars > 0:
        result["migration"] = _migration_section(outdir, migration_stars, migration_mc)
    (outdir / "summary.json").write_text(json.dumps(result, indent=2))
    return result
