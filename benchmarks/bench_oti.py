"""Benchmark: OTI objective on a 56,000-star mock and the projected cost of the full inference.

Measures
--------
1. one objective evaluation (frame transformation, Stäckel-fudge actions,
   neighbours, App.-A means, Fourier fit) for ``--n-stars`` stars (default
   56,000, the size of PW2021's parent sample);
2. one bootstrap Nelder-Mead optimisation over all four parameters on a
   subset of ``--fit-stars`` stars (its number of objective evaluations);
3. optionally (``--gradient``) Nelder-Mead vs the autodiff L-BFGS-B
   optimiser on that subset.

The full-inference cost is **extrapolated** (clearly labelled): 8 ratios x 128
trials x (evaluations per optimisation) x (time per 56k evaluation, scaled by
the ~63% distinct stars of a bootstrap resample, whose actions are computed
once), divided by the cores, and compared with the 2-hour goal.

    python benchmarks/bench_oti.py [--n-stars 56000] [--fit-stars 4000] [--gradient]
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import numpy as np

from diskorbits.potentials import MilkyWayPotential
from diskorbits.torusimaging import make_mock
from diskorbits.torusimaging.inference import fit_potential
from diskorbits.torusimaging.objective import (
    OTIData,
    OTISetup,
    evaluate_objective,
    fiducial_parameters,
)

GOAL_HOURS = 2.0
N_RATIOS, N_BOOT = 8, 128
#: Expected fraction of distinct stars in a bootstrap resample, 1 - 1/e.
DISTINCT = 1.0 - np.exp(-1.0)


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n-stars", type=int, default=56_000)
    ap.add_argument("--fit-stars", type=int, default=4000)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument(
        "--gradient",
        action="store_true",
        help="also time the autodiff optimiser (long compile)",
    )
    args = ap.parse_args()

    truth = MilkyWayPotential().with_disk(1.1, 0.28)
    t = time.perf_counter()
    mock = make_mock(
        jax.random.key(0),
        truth,
        args.n_stars,
        selection=None,
        n_steps=300,
        time_range=(500.0, 3000.0),
    )
    print(
        f"mock of {args.n_stars} stars: {time.perf_counter() - t:.1f} s (not part of the inference)"
    )
    data = OTIData.from_mock(mock)
    setup = OTISetup(metric="spread")
    x0 = fiducial_parameters(setup)
    setup = setup.fix_scale(data, x0)

    evaluate_objective(x0, data, setup)  # compile
    times = []
    for f in (0.95, 1.05, 1.15):
        th = x0.copy()
        th[0] = f
        t = time.perf_counter()
        evaluate_objective(th, data, setup)
        times.append(time.perf_counter() - t)
    t_eval = float(np.median(times))
    print(
        f"objective, {args.n_stars} stars: {t_eval:.2f} s per evaluation ({args.n_stars / t_eval:,.0f} stars/s, "
        f"{os.cpu_count()} cores visible)"
    )

    sub = data.take(np.arange(min(args.fit_stars, data.n_stars)))
    boot = sub.bootstrap(np.random.default_rng(0))
    fit = fit_potential(boot, x0=x0, setup=setup)
    print(
        f"Nelder-Mead, 4 free parameters, {sub.n_stars}-star bootstrap resample: {fit.n_evaluations} evaluations, "
        f"{fit.wall_time:.1f} s, theta = {np.round(fit.theta, 4).tolist()}, success={fit.success}"
    )

    per_opt = fit.n_evaluations * t_eval * DISTINCT
    total_h = N_RATIOS * N_BOOT * per_opt / args.cores / 3600.0
    print(
        f"EXTRAPOLATED full inference ({N_RATIOS} ratios x {N_BOOT} trials x {fit.n_evaluations} evaluations x "
        f"{t_eval * DISTINCT:.2f} s per resampled 56k evaluation / {args.cores} cores): {total_h:.1f} h "
        f"(goal < {GOAL_HOURS:g} h: {'met' if total_h < GOAL_HOURS else 'NOT met'})"
    )
    print(
        "  note: one evaluation already uses every core (XLA threads, cKDTree workers=-1), so dividing by the "
        "cores assumes trials run one per core at the single-thread rate -- optimistic by up to the threading gain"
    )

    if args.gradient:
        for method in ("nelder-mead", "gradient"):
            t = time.perf_counter()
            r = fit_potential(boot, x0=x0, setup=setup, method=method)
            print(
                f"{method:12s}: {r.n_evaluations} evaluations, {r.n_iterations} iterations, {r.wall_time:.1f} s "
                f"(+{time.perf_counter() - t - r.wall_time:.1f} s outside), objective {r.objective:.3e}, "
                f"theta = {np.round(r.theta, 4).tolist()}, {r.message}"
            )


if __name__ == "__main__":
    main()
