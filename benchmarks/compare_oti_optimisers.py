"""Nelder-Mead (PW2021) vs L-BFGS with autodiff gradients vs Gauss-Newton on the same bootstrap trials.

A phase-mixed mock (truth: disk factor 1.1, h_z 0.28 kpc, PW2021's solar frame;
APOGEE-like 3 kpc sphere) with ``--n-stars`` stars and an [O/Fe]-like ratio.
Every method sees the same resamples (``default_rng([seed, trial, column])``),
so the optima are compared trial by trial. Free parameters: disk mass factor,
z_sun, v_z,sun (h_z fixed at the truth: with four free parameters Eq. 8 of one
ratio is minimised along a curve, see ``diskorbits.torusimaging.inference``).

    python benchmarks/compare_oti_optimisers.py [--n-stars 4000] [--n-trials 4]
"""

from __future__ import annotations

import argparse
import time

import astropy.units as u
import jax
import numpy as np

from diskorbits.potentials import MilkyWayPotential
from diskorbits.torusimaging import LinearAbundanceModel, make_mock
from diskorbits.torusimaging.inference import bootstrap_inference
from diskorbits.torusimaging.objective import OTIData, OTISetup, fiducial_parameters

REPORT = np.array([1.0, 1.0, 1e3, 977.79])  # factor, kpc, pc, km/s
FREE = ["disk_mass_factor", "z_sun", "v_z_sun"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-stars", type=int, default=4000)
    ap.add_argument("--n-trials", type=int, default=4)
    args = ap.parse_args()
    truth = MilkyWayPotential().with_disk(1.1, 0.28)
    model = LinearAbundanceModel([0.03], [[1e-4, 5e-5, 0.005]] / (u.kpc * u.km / u.s), noise=[0.03])
    mock = make_mock(jax.random.key(11), truth, args.n_stars, abundance_model=model, n_steps=400, time_range=(500.0, 3000.0))
    data = OTIData.from_mock(mock, ratio_names=["O_FE"])
    setup = OTISetup(metric="spread")
    x0 = fiducial_parameters(setup)
    x0[1] = 0.28
    setup = setup.fix_scale(data, x0)
    out = {}
    for method in ("gauss-newton", "nelder-mead", "gradient"):
        t = time.perf_counter()
        r = bootstrap_inference(data, n_bootstrap=args.n_trials, seed=2, x0=x0, setup=setup, free=FREE, method=method)
        wall = time.perf_counter() - t
        e = r.estimates["O_FE"]
        out[method] = e.samples
        evals = e.n_evaluations
        kind = "parameter vectors for all trials" if method == "gauss-newton" else "evaluations per trial"
        print(f"{method:13s} {wall:7.1f} s  {evals.mean():5.0f} {kind}; success {e.success.sum()}/{e.success.size}")
        print(f"{'':13s} mean (factor, h_z, z_sun pc, v_z km/s) {np.round(e.mean * REPORT, 3).tolist()}, "
              f"std {np.round(e.std * REPORT, 3).tolist()}")
    ref = out["nelder-mead"]
    sigma = np.where(ref.std(axis=0) > 0, ref.std(axis=0, ddof=1), np.inf)
    for method in ("gauss-newton", "gradient"):
        d = np.abs(out[method] - ref) / sigma
        print(f"|{method} - nelder-mead| per trial, in Nelder-Mead bootstrap sigmas (factor, z_sun, v_z): "
              f"max {np.round(d.max(axis=0)[[0, 2, 3]], 2).tolist()}, median {np.round(np.median(d, axis=0)[[0, 2, 3]], 2).tolist()}")


if __name__ == "__main__":
    main()
