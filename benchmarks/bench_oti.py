"""Benchmark: Orbital Torus Imaging at the paper's scale (56,000 stars, 8 ratios, 128 bootstrap trials).

Measures, on a mock made from ``configs/oti/mock_pw2021.toml`` (truth: disk
factor 1.1, h_z 0.28 kpc; 8 ratios; APOGEE-like 3 kpc sphere with pencil
beams) with ``--n-stars`` stars (default 56,000, PW2021's sample):

1. one objective evaluation (Eq. 8 at one theta, every ratio) on the
   catalogue -- the reference path :func:`evaluate_objective`;
2. the trials-as-weights kernel (:mod:`diskorbits.torusimaging.resampling`):
   the fixed cost per parameter vector (frame, actions, one k-d tree query)
   and the cost per (resample, ratio) pair;
3. MEASURED: a full 128-trial Gauss-Newton inference of one ratio (4 free
   parameters), and with ``--full`` the whole 8-ratio x 128-trial inference;
4. for comparison, the Nelder-Mead cost of the same job, EXTRAPOLATED
   (clearly labelled) from ``--nm-trials`` measured Nelder-Mead trials.

Where a GPU is present, JAX uses it for every kernel; the k-d tree query stays
on the CPU.

    python benchmarks/bench_oti.py [--n-stars 56000] [--full [--output RESULT.h5]] [--workers 1] [--nm-trials 1]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import jax
import numpy as np

from diskorbits.parallel import Executor
from diskorbits.torusimaging.inference import bootstrap_inference, fit_potential, write_oti_result
from diskorbits.torusimaging.mock_config import load_mock_config
from diskorbits.torusimaging.objective import (
    OTIData,
    OTISetup,
    evaluate_objective,
    fiducial_parameters,
)
from diskorbits.torusimaging.resampling import bootstrap_counts, resampled_coefficients

GOAL_HOURS = 2.0
N_RATIOS, N_BOOT = 8, 128
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "oti" / "mock_pw2021.toml"


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    jax.block_until_ready(getattr(out, "coefficients", out))
    return out, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-stars", type=int, default=56_000)
    ap.add_argument("--n-steps", type=int, default=1000, help="leapfrog steps per mock orbit (mixing only)")
    ap.add_argument("--full", action="store_true", help="run the whole 8-ratio x 128-trial inference")
    ap.add_argument("--workers", type=int, default=1, help="executor processes for the stencil points")
    ap.add_argument("--output", help="with --full: write the 8-ratio result to this HDF5 file")
    ap.add_argument("--nm-trials", type=int, default=1, help="Nelder-Mead trials measured for the comparison")
    args = ap.parse_args()
    print(f"JAX backend: {jax.default_backend()} ({jax.devices()[0].device_kind}); {os.cpu_count()} CPU cores visible")

    cfg = load_mock_config(CONFIG)
    cfg = cfg.replace(mock={"n_stars": args.n_stars, "n_steps": args.n_steps})
    mock, t = _timed(cfg.make)
    data = OTIData.from_mock(mock, ratio_names=list(cfg.ratios))
    print(f"mock: {data.n_stars} stars x {data.n_ratios} ratios in {t:.1f} s (not part of the inference)")
    setup = OTISetup(metric="spread")
    x0 = fiducial_parameters(setup)
    setup = setup.fix_scale(data, x0)
    th = x0.copy()
    th[0] = 1.05

    print("\n1. one objective evaluation (reference path, all ratios)")
    evaluate_objective(x0, data, setup)
    ts = [_timed(lambda: evaluate_objective(th, data, setup).objective)[1] for _ in range(3)]
    t_eval = float(np.median(ts))
    print(f"   {t_eval:.2f} s per evaluation ({data.n_stars / t_eval:,.0f} stars/s)")

    print("\n2. trials as weights: one parameter vector, B (resample, ratio) pairs")
    res = {}
    for B in (1, 33):
        counts = np.stack([bootstrap_counts(data.n_stars, 0, t, 1) for t in range(B)])
        resampled_coefficients(x0, data, setup, counts, np.ones(B, int))  # compile
        run = lambda c=counts: resampled_coefficients(th, data, setup, c, np.ones(c.shape[0], int))  # noqa: E731
        res[B] = float(np.median([_timed(run)[1] for _ in range(2)]))
    per_pair = (res[33] - res[1]) / 32
    fixed = res[1] - per_pair
    print(f"   fixed {fixed:.2f} s (frame, actions, k-d tree query for 2K+16 neighbours), {per_pair * 1e3:.0f} ms per pair")

    ex = Executor(n_workers=args.workers)
    print(f"\n3. MEASURED Gauss-Newton inference, 4 free parameters, {N_BOOT} trials, executor {ex.backend} x {args.workers}")
    one, t1 = _timed(lambda: bootstrap_inference(data, ["O_FE"], n_bootstrap=N_BOOT, seed=1, x0=x0, setup=setup, executor=ex))
    st = one.config["stencil"]["O_FE"]
    e = one.estimates["O_FE"]
    print(f"   one ratio (O_FE): {t1:.0f} s, {st['parameter_vectors']} parameter vectors, {st['iterations']} iterations, "
          f"converged {st['converged']}")
    print(f"   mean theta {np.round(e.mean, 4).tolist()}, std {np.round(e.std, 4).tolist()}")
    projected = t1 * N_RATIOS / 3600
    print(f"   x {N_RATIOS} ratios = {projected:.2f} h projected (goal < {GOAL_HOURS:g} h)")
    if args.full:
        full, tf = _timed(lambda: bootstrap_inference(data, n_bootstrap=N_BOOT, seed=1, x0=x0, setup=setup, executor=ex))
        print(f"   FULL {N_RATIOS} ratios x {N_BOOT} trials: {tf / 60:.1f} min = {tf / 3600:.2f} h "
              f"(goal < {GOAL_HOURS:g} h: {'met' if tf / 3600 < GOAL_HOURS else 'NOT met'})")
        table = full.to_dict()
        rows = {**table["ratios"], **({"joint": table["joint"]} if table["joint"] else {})}
        first = next(iter(rows.values()))
        names = [n for n, v in first.items() if isinstance(v, dict)]  # parameters, then derived
        print("     columns: " + ", ".join(f"{n} [{first[n]['unit'] or '-'}]" for n in names))
        for name, row in rows.items():
            print(f"     {name:6s} " + "  ".join(f"{row[n]['mean']:.4g} +- {row[n]['std']:.2g}" for n in names))
        if table["joint_error"]:
            print(f"     no joint estimate: {table['joint_error']}")
        if args.output:
            write_oti_result(args.output, full)
            print(f"     result written to {args.output} (diskorbits oti summary/plot read it)")

    print(f"\n4. Nelder-Mead (PW2021) for comparison, {args.nm_trials} measured trial(s) of O_FE")
    from diskorbits.torusimaging.resampling import bootstrap_rows

    n_ev, wall = [], []
    for t in range(args.nm_trials):
        sample = data.take(bootstrap_rows(data.n_stars, 1, t, data.ratio_index("O_FE")), ratios=["O_FE"])
        f = fit_potential(sample, x0=x0, setup=setup)
        n_ev.append(f.n_evaluations)
        wall.append(f.wall_time)
        print(f"   trial {t}: {f.n_evaluations} evaluations, {f.wall_time:.0f} s, theta {np.round(f.theta, 4).tolist()}; "
              f"Gauss-Newton trial {t}: {np.round(e.samples[t], 4).tolist()}")
    h = N_RATIOS * N_BOOT * float(np.mean(wall)) / 3600
    print(f"   EXTRAPOLATED Nelder-Mead {N_RATIOS} x {N_BOOT}: {h:.1f} h ({np.mean(n_ev):.0f} evaluations/trial); "
          f"Gauss-Newton is {h / projected:.0f}x faster")


if __name__ == "__main__":
    main()
