"""Fit the Frankel et al. (2020) model to the Kepler-field clump giants of Miglio et al. (2021).

A real-data example (docs/migration_kepler.md): the low-alpha core-helium-burning
stars of Miglio et al. (2021) in the Kepler field, read with
:func:`diskorbits.migration.read_kepler_miglio2021` (proper motions and
line-of-sight velocities rebuilt in the authors' frame), the Kepler field as
one circular field (:func:`~diskorbits.migration.kepler_field`), the potential
and actions of the CLI's default set-up (MWPotential2014 at 8.2 kpc and
235 km/s, Staeckel fudge), and f_RC adapted to the sample's own age selection
(:func:`~diskorbits.migration.kepler.miglio2021_red_clump_fraction`; ``--frc
paper`` for the package default). It runs, MEASURED:

1. the likelihood's precomputation (Monte Carlo truths and the survey volume);
2. a multi-start L-BFGS-B maximum-likelihood search (``fit(..., sampler="none")``,
   starts around Table 1 within 10% of the prior box, or the whole box with
   ``--starts-in-box``);
3. Laplace errors from the autodiff Hessian of ln L at the MLE in display units;
4. with ``--nuts``: a short NUTS run started at the MLE (``--chains``,
   ``--warmup``, ``--draws``);

and prints the result next to Table 1 of the paper, with a column saying
which parameters this single field constrains (Laplace sd against the width of
the prior box; ``--bound NAME LO HI`` changes the box). Results go to the JSON file of ``-o`` (and the fit file next to
it, ``.h5``).

    python benchmarks/fit_kepler_miglio2021.py [--n-mc 80] [--n-volume 100000] [--starts 3]
        [--nuts --chains 2 --warmup 200 --draws 200] [--frame authors|frankel2020]
        [--frc kepler|paper] [--age-max GYR] [-o benchmarks/results/kepler_miglio2021.json]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
import warnings
from pathlib import Path

import astropy.units as u
import jax
import numpy as np

from diskorbits import frames
from diskorbits.io.atomic import atomic_write_text
from diskorbits.migration import (
    NAMES,
    UNITS,
    SurveySetup,
    build_likelihood,
    fit,
    kepler_field,
    prior_bounds,
    rms_delta_jr,
    rms_delta_lz,
    table1,
    text_values,
)
from diskorbits.migration.inference import describe_selection, laplace_errors
from diskorbits.migration.kepler import (
    KEPLER_RC_ONSET_MYR,
    MIGLIO2021_FRAME,
    miglio2021_red_clump_fraction,
    read_kepler_miglio2021,
)
from diskorbits.migration.likelihood import LikelihoodWarning
from diskorbits.sampling import ess_bulk, split_rhat

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "results" / "kepler_miglio2021.json"

#: Laplace sd / prior-box width below which a parameter counts as constrained, and as weakly constrained.
CONSTRAINED, WEAK = 0.05, 0.2

_KPC_KMS = u.kpc * u.km / u.s


def _parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="Miglio et al. (2021) FITS file (default: shared/data).")
    p.add_argument("--n-mc", type=int, default=80, help="Monte Carlo samples per star (default 80, the paper's).")
    p.add_argument("--n-volume", type=int, default=100_000, help="Survey-volume proposal samples (default 10^5).")
    p.add_argument("--starts", type=int, default=3, help="L-BFGS-B starts.")
    p.add_argument("--starts-in-box", action="store_true", help="Draw the starts in the whole prior box instead of around Table 1.")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frame", choices=("authors", "frankel2020"), default="authors",
                   help="Frame of the likelihood: the authors' (reproduces their vR, vT, vZ) or the paper's.")
    p.add_argument("--frc", choices=("kepler", "paper"), default="kepler",
                   help="f_RC: adapted to the sample's mass cut and secondary clump, or the package default.")
    p.add_argument("--age-max", type=float, default=None, help="Cut on observed age, Gyr (default: none).")
    p.add_argument("--bound", nargs=3, action="append", metavar=("NAME", "LO", "HI"), default=[],
                   help="Replace one entry of the prior box (display units), e.g. --bound R_d0 0.28 30; repeatable.")
    p.add_argument("--nuts", action="store_true", help="Run a short NUTS chain after the MLE.")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--draws", type=int, default=200)
    p.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="JSON file for the results.")
    return p.parse_args(argv)


def _laplace(lik, best, free, width):
    """Laplace covariance (display units) from the Hessian of ln L at ``best``.

    Parameters on a face of the prior box (``~free``) are held there: the
    covariance is that of the free ones given them (their rows are NaN), as the
    gradient need not vanish along a bound. Marginal sd are NaN where the free
    block is not negative definite; the conditional sd ``1/sqrt(-H_ii)`` (all
    other parameters fixed) is given for every parameter. Eigenvalues are of
    ``-H`` in units of the box widths.
    """
    lap = laplace_errors(lik, best, free=free)
    hess = lap.hessian
    f = np.flatnonzero(free)
    scaled = -hess[np.ix_(f, f)] * np.outer(width[f], width[f])
    evals, evecs = np.linalg.eigh(scaled)
    d = np.diag(-hess)
    cond = np.sqrt(np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), np.nan))
    return {
        "hessian": hess,
        "covariance": lap.covariance,
        "sd": lap.sd,
        "conditional_sd": cond,
        "negative_definite": lap.negative_definite,
        "held_at_bound": [NAMES[i] for i in np.flatnonzero(~free)],
        "eigenvalues_box_units": evals,
        "flattest_direction_box_units": {NAMES[i]: float(x) for i, x in zip(f, evecs[:, 0])},
    }


def _verdict(sd, cond, width, at_edge):
    if at_edge:
        return "at prior edge"
    s = sd if math.isfinite(sd) else cond
    if not math.isfinite(s):
        return "not constrained"
    r = s / width
    if r < CONSTRAINED:
        return "constrained" if math.isfinite(sd) else "constrained (conditional)"
    if r < WEAK:
        return "weak" if math.isfinite(sd) else "weak (conditional)"
    return "not constrained"


def _derived(vectors):
    """rms Delta L_z at 6 Gyr (Eq. 21) and rms Delta J_R at 6 Gyr and 8 kpc (Eq. 22), kpc km/s."""
    lz = np.atleast_1d(rms_delta_lz(vectors, 6.0 * u.Gyr).to_value(_KPC_KMS))
    jr = np.atleast_1d(rms_delta_jr(vectors, 6.0 * u.Gyr, 8.0 * u.kpc).to_value(_KPC_KMS))
    return lz, jr


def main(argv=None) -> dict:
    args = _parse(argv)
    t_start = time.perf_counter()
    timings = {}
    out_json = args.output
    out_json.parent.mkdir(parents=True, exist_ok=True)
    fit_path = out_json.with_suffix(".h5")

    # 1. data, selection, set-up
    t0 = time.perf_counter()
    selection = kepler_field()
    sun_data = MIGLIO2021_FRAME
    catalogue = read_kepler_miglio2021(args.data, selection=selection, age_max=args.age_max, sun=sun_data)
    sun_fit = sun_data if args.frame == "authors" else frames.FRANKEL2020
    red_clump = miglio2021_red_clump_fraction(args.data) if args.frc == "kepler" else None
    setup = SurveySetup(selection, sun=sun_fit, red_clump=red_clump)
    timings["load_s"] = time.perf_counter() - t0
    cuts = json.loads(catalogue.meta["cuts"])
    print(f"stars: {cuts['cutflow']}")

    # 2. likelihood
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LikelihoodWarning)
        lik = build_likelihood(catalogue, setup, n_mc=args.n_mc, n_volume=args.n_volume, rng=args.seed)
    lik_warnings = [str(w.message) for w in caught if issubclass(w.category, LikelihoodWarning)]
    timings["likelihood_build_s"] = time.perf_counter() - t0
    check = lik.check()
    print(f"likelihood built in {timings['likelihood_build_s']:.0f} s; check at Table 1: {check}")

    # 3. MLE (and NUTS)
    t0 = time.perf_counter()
    truth = np.asarray(table1().to_vector())
    mle_opts = {"method": "l-bfgs-b"}
    if not args.starts_in_box:
        mle_opts["guess"] = truth
    sampler = "nuts" if args.nuts else "none"
    bounds = prior_bounds(**{name: (float(lo), float(hi)) for name, lo, hi in args.bound})
    sampler_opts = {"n_chains": args.chains, "n_warmup": args.warmup, "n_draws": args.draws} if args.nuts else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit(
            lik, sampler=sampler, bounds=bounds, mle_starts=args.starts, mle_options=mle_opts, sampler_options=sampler_opts,
            seed=args.seed, path=fit_path, overwrite=True,
            selection={"description": describe_selection(selection)},
            catalogue={"path": catalogue.meta["source"], "n_stars": len(catalogue), "n_mc": args.n_mc,
                       "n_volume": args.n_volume, "cuts": cuts},
        )  # fmt: skip
    fit_warnings = sorted({str(w.message) for w in caught})
    timings["fit_s"] = time.perf_counter() - t0
    mle = result.mle
    best = result.mle_vector
    timings["mle_s"] = float(mle.wall_time_s)

    # 4. Laplace errors
    t0 = time.perf_counter()
    lower = np.array([bounds[n][0] for n in NAMES])
    upper = np.array([bounds[n][1] for n in NAMES])
    width = upper - lower
    at_edge = (best - lower < 0.01 * width) | (upper - best < 0.01 * width)
    lap = _laplace(lik, best, ~at_edge, width)
    timings["laplace_s"] = time.perf_counter() - t0

    # derived quantities at the MLE, spread from Laplace draws (where the covariance is usable)
    lz_mle, jr_mle = (float(x[0]) for x in _derived(best))
    derived = {"rms_dLz_6gyr_kpckms": {"mle": lz_mle, "paper": 619.0},
               "rms_dJR_6gyr_8kpc_kpckms": {"mle": jr_mle, "paper": 63.0}}  # fmt: skip
    if lap["negative_definite"]:
        cov = np.where(np.isfinite(lap["covariance"]), lap["covariance"], 0.0)  # held parameters stay at the bound
        draws = np.random.default_rng(args.seed).multivariate_normal(best, cov, size=2000)
        ok = np.all((draws >= lower) & (draws <= upper), axis=1)  # the box lies inside the physical range
        lz_d, jr_d = _derived(draws[ok])
        derived["rms_dLz_6gyr_kpckms"]["laplace_sd"] = float(np.std(lz_d))
        derived["rms_dJR_6gyr_8kpc_kpckms"]["laplace_sd"] = float(np.std(jr_d))
        derived["laplace_draws_inside_box"] = int(ok.sum())

    nuts = None
    if result.has_samples:
        s = result.samples()
        q = np.percentile(s, [16, 50, 84], axis=0)
        nuts = {n: {"p16": float(q[0, i]), "median": float(q[1, i]), "p84": float(q[2, i])} for i, n in enumerate(NAMES)}
        post = np.asarray(result.sampling.posterior)
        stats = result.sampling.stats
        nuts["_diagnostics"] = {
            "chains_x_draws": list(post.shape[:2]),
            "rhat": dict(zip(NAMES, split_rhat(post).tolist())),
            "ess_bulk": dict(zip(NAMES, ess_bulk(post).tolist())),
            "divergences": int(np.sum(np.asarray(stats.get("divergent", 0)))),
            "wall_time_s": float(result.sampling.meta.get("wall_time_s", float("nan"))),
        }

    paper = np.asarray(table1().to_vector())
    text = np.asarray(text_values().to_vector())
    rows = {}
    for i, n in enumerate(NAMES):
        rows[n] = {
            "unit": UNITS[i], "table1": float(paper[i]), "text": float(text[i]),
            "mle": float(best[i]), "laplace_sd": float(lap["sd"][i]), "conditional_sd": float(lap["conditional_sd"][i]),
            "prior": [float(lower[i]), float(upper[i])], "at_prior_edge": bool(at_edge[i]),
            "verdict": _verdict(float(lap["sd"][i]), float(lap["conditional_sd"][i]), float(width[i]), bool(at_edge[i])),
        }  # fmt: skip
        if nuts:
            rows[n]["nuts"] = nuts[n]
    timings["total_s"] = time.perf_counter() - t_start

    report = {
        "command": " ".join([Path(sys.argv[0]).name if argv is None else "fit_kepler_miglio2021.py", *(sys.argv[1:] if argv is None else argv)]),
        "settings": vars(args) | {"output": str(args.output)},
        "data": {"reference": catalogue.meta["reference"], "source": catalogue.meta["source"], "n_stars": len(catalogue),
                 "cuts": cuts, "errors": json.loads(catalogue.meta["errors"]),
                 "R_kpc_range": [float(np.min(catalogue["GalR"])), float(np.max(catalogue["GalR"]))],
                 "distance_kpc_5_50_95": np.percentile(np.asarray(catalogue["distance"]), [5, 50, 95]).tolist(),
                 "age_gyr_5_50_95": np.percentile(np.asarray(catalogue["age"]), [5, 50, 95]).tolist(),
                 "feh_5_50_95": np.percentile(np.asarray(catalogue["feh"]), [5, 50, 95]).tolist()},
        "frame_of_data": json.loads(catalogue.meta["frame"]),
        "frame_of_fit": sun_fit.describe(),
        "selection": describe_selection(selection),
        "red_clump_fraction": (f"miglio2021_red_clump_fraction (onset {KEPLER_RC_ONSET_MYR:g} Myr, mass cut)"
                               if args.frc == "kepler" else "RedClumpFraction() (package default)"),
        "likelihood_check_at_table1": check,
        "likelihood_warnings": lik_warnings,
        "mle": {"log_likelihood": float(mle.log_likelihood), "values": np.asarray(mle.values).tolist(),
                "starts_agree": bool(mle.agree), "n_at_best": int(mle.n_at_best),
                "n_evaluations": np.asarray(mle.n_evaluations).tolist(), "warnings": list(mle.warnings),
                "ends": np.asarray(mle.ends).tolist(),
                "log_likelihood_at_table1": float(lik(paper))},
        "laplace": {"negative_definite": lap["negative_definite"], "held_at_bound": lap["held_at_bound"],
                    "eigenvalues_box_units": lap["eigenvalues_box_units"].tolist(),
                    "flattest_direction_box_units": lap["flattest_direction_box_units"],
                    "covariance": np.where(np.isfinite(lap["covariance"]), lap["covariance"], np.nan).tolist()},
        "parameters": rows,
        "derived": derived,
        "fit_warnings": fit_warnings,
        "fit_file": str(fit_path),
        "timings_s": timings,
        "machine": {"platform": platform.platform(), "cpus": __import__("os").cpu_count(), "jax": jax.__version__,
                    "devices": [str(d) for d in jax.devices()]},
    }  # fmt: skip
    atomic_write_text(out_json, json.dumps(report, indent=2, default=lambda x: None if x is None else float(x)))
    _print(report)
    return report


def _fmt(x, d=4):
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{d}g}"


def _print(r):
    d = r["data"]
    print()
    print(f"Kepler field (Miglio et al. 2021): {d['n_stars']} low-alpha clump stars, R = {d['R_kpc_range'][0]:.2f}-"
          f"{d['R_kpc_range'][1]:.2f} kpc; n_mc = {r['settings']['n_mc']}, n_volume = {r['settings']['n_volume']}")  # fmt: skip
    head = f"{'parameter':<10} {'unit':<9} {'Table 1':>8} {'text':>7} {'MLE':>9} {'Laplace sd':>10} {'cond. sd':>9}"
    nuts = any("nuts" in p for p in r["parameters"].values())
    if nuts:
        head += f" {'NUTS median [16, 84]':>26}"
    head += "  this field"
    print(head)
    print("-" * len(head))
    for n, p in r["parameters"].items():
        text = "" if p["text"] == p["table1"] else _fmt(p["text"], 3)
        line = (f"{n:<10} {p['unit']:<9} {_fmt(p['table1'], 4):>8} {text:>7} {_fmt(p['mle'], 4):>9} "
                f"{_fmt(p['laplace_sd'], 2):>10} {_fmt(p['conditional_sd'], 2):>9}")  # fmt: skip
        if nuts:
            q = p.get("nuts")
            line += f" {(_fmt(q['median'], 4) + ' [' + _fmt(q['p16'], 3) + ', ' + _fmt(q['p84'], 3) + ']') if q else '-':>26}"
        line += f"  {p['verdict']}"
        print(line)
    m = r["mle"]
    print(f"ln L(MLE) = {m['log_likelihood']:.2f} (Table 1: {m['log_likelihood_at_table1']:.2f}); "
          f"{m['n_at_best']} of {len(m['values'])} starts agree; Laplace covariance "
          f"{'usable' if r['laplace']['negative_definite'] else 'NOT negative definite (marginal sd NaN where undefined)'}"
          + (f", given {', '.join(r['laplace']['held_at_bound'])} held at the prior bound" if r["laplace"]["held_at_bound"] else ""))  # fmt: skip
    for k, v in r["derived"].items():
        if not isinstance(v, dict):
            continue
        sd = f" ± {v['laplace_sd']:.0f}" if "laplace_sd" in v else ""
        print(f"{k}: {v['mle']:.0f}{sd} (paper {v['paper']:.0f})")
    t = r["timings_s"]
    print("wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in t.items()))
    print(f"wrote {r['settings']['output']} and {r['fit_file']}")


if __name__ == "__main__":
    main()
