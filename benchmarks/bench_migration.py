"""Benchmark: the Frankel et al. (2020) fit at the paper's scale (7,000 stars, 80 samples each).

On a mock drawn from ``configs/migration/mock_table1.toml`` (Table 1 truth,
APOGEE DR17-like short-cohort fields, analytic dust, the paper's noise) this
measures, side by side in one run:

1. one likelihood evaluation -- 7,000 stars x 80 Monte Carlo samples plus the
   10^5-sample survey volume -- value alone and value + gradient (compiled);
2. the maximum-likelihood search: L-BFGS-B (JAX gradient) from ``--mle-starts``
   random starts, MEASURED; Nelder-Mead (the paper's) from one start near
   Table 1 with ``--nelder-mead``, MEASURED;
3. with ``--nuts``: a NUTS posterior (``--chains`` chains, ``--warmup`` +
   ``--draws`` steps, the dense Laplace metric of ``NUTS_DEFAULTS``) started at
   the MLE, MEASURED, with its convergence diagnostics and the number of
   gradient evaluations (docs/migration.md has our numbers);
4. emcee with the paper's 52 walkers: ``--emcee-steps`` steps MEASURED, the
   paper's 12,000 steps EXTRAPOLATED from them (clearly labelled).

    python benchmarks/bench_migration.py [--mock mock.fits] [--n-mc 80] [--nelder-mead]
        [--nuts --chains 2 --warmup 100 --draws 300] [--emcee-steps 20]

The mock is written to ``--mock`` (default ``benchmarks/_mock_table1.fits``)
and reused on later runs.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import equinox as eqx
import jax
import numpy as np

from diskorbits.migration import NAMES, build_likelihood, make_problem, table1
from diskorbits.migration.inference import NUTS_DEFAULTS
from diskorbits.migration.mock_config import load_mock_config, mock_config_of
from diskorbits.sampling import maximize_likelihood, run_emcee, run_nuts

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parent / "configs" / "migration" / "mock_table1.toml"


def _timed(fn, repeat=5):
    jax.block_until_ready(fn())  # compile
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t)
    return best


def _mock(path: Path):
    from astropy.table import Table

    if path.exists():
        return Table.read(path)
    cfg = load_mock_config(CONFIG)
    t = time.perf_counter()
    cat = cfg.make()
    print(f"mock: {len(cat)} stars drawn in {time.perf_counter() - t:.1f} s")
    cat.write(path, overwrite=True)
    return cat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mock", type=Path, default=HERE / "_mock_table1.fits")
    ap.add_argument("--n-mc", type=int, default=80)
    ap.add_argument("--n-volume", type=int, default=100_000)
    ap.add_argument("--mle-starts", type=int, default=4)
    ap.add_argument("--nelder-mead", action="store_true", help="also time the paper's Nelder-Mead (one start)")
    ap.add_argument("--nuts", action="store_true", help="also run the NUTS posterior (long on a CPU)")
    ap.add_argument("--chains", type=int, default=NUTS_DEFAULTS["n_chains"])
    ap.add_argument("--warmup", type=int, default=NUTS_DEFAULTS["n_warmup"])
    ap.add_argument("--draws", type=int, default=NUTS_DEFAULTS["n_draws"])
    ap.add_argument("--emcee-steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"JAX {jax.__version__} on {jax.devices()[0].platform}, {jax.device_count()} device(s)")

    cat = _mock(args.mock)
    cfg = mock_config_of(cat.meta)
    setup = cfg.setup(cfg.selection())
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        lik = build_likelihood(cat, setup, n_mc=args.n_mc, n_volume=args.n_volume, rng=args.seed, check=False)
    t_build = time.perf_counter() - t
    truth = np.asarray(table1().to_vector())
    value = eqx.filter_jit(lambda lk, x: lk(x))
    grad = eqx.filter_jit(lambda lk, x: jax.value_and_grad(lambda y: lk(y))(x))
    t_val = _timed(lambda: value(lik, truth))
    t_grad = _timed(lambda: grad(lik, truth))
    print(f"\n1. likelihood: {len(cat)} stars x {args.n_mc} samples + {args.n_volume:,d} volume samples")
    print(f"   set-up (Monte Carlo samples, actions, volume proposals): {t_build:8.1f} s")
    print(f"   value:                                                    {t_val * 1e3:8.1f} ms")
    print(f"   value + gradient (11 parameters):                         {t_grad * 1e3:8.1f} ms")

    problem = make_problem(lik)
    print("\n2. maximum likelihood")
    r = maximize_likelihood(problem, args.seed, n_starts=args.mle_starts, method="l-bfgs-b", warn=False)
    print(f"   L-BFGS-B, {args.mle_starts} random starts: {r.wall_time_s:8.1f} s, evaluations per start "
          f"{r.n_evaluations.tolist()}, best ln L {r.log_likelihood:.2f}, starts at best {r.n_at_best}")
    if args.nelder_mead:
        nm = maximize_likelihood(problem, args.seed, n_starts=1, guess=truth, warn=False)
        rb = maximize_likelihood(problem, args.seed, n_starts=1, guess=truth, method="l-bfgs-b", warn=False)
        print(f"   from Table 1: Nelder-Mead {nm.wall_time_s:8.1f} s ({int(nm.n_evaluations[0])} evaluations, ln L "
              f"{nm.log_likelihood:.2f}) vs L-BFGS-B {rb.wall_time_s:8.1f} s ({int(rb.n_evaluations[0])} evaluations "
              f"of value+gradient, ln L {rb.log_likelihood:.2f})")

    t_nuts = None
    if args.nuts:
        print(f"\n3. NUTS: {args.chains} chains x ({args.warmup} warmup + {args.draws} draws), dense Laplace metric, from the MLE")
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opts = {**NUTS_DEFAULTS, "n_warmup": args.warmup, "n_draws": args.draws, "n_chains": args.chains}
            res = run_nuts(problem, args.seed, init=r.x, **opts)
        t_nuts = time.perf_counter() - t
        d = res.diagnostics
        n_grad = int(np.sum(res.stats["n_steps"]) + np.sum(res.stats.get("warmup_n_steps", 0)))
        print(f"   MEASURED wall time {t_nuts:8.1f} s ({t_nuts / 60:.1f} min); {n_grad:,d} gradient evaluations "
              f"(median {np.median(res.stats['n_steps']):.0f} per draw)")
        print(f"   min bulk ESS {np.min(d.ess_bulk):.0f}, min tail ESS {np.min(d.ess_tail):.0f}, max R-hat "
              f"{np.max(d.rhat):.3f}; {np.min(d.ess_bulk) / t_nuts:.2f} effective draws per second")
        for w in d.warnings:
            print(f"   warning: {w}")
        post = res.flat()
        mean, sd = post.mean(axis=0), post.std(axis=0)
        print(f"   {'parameter':10s} {'truth':>9s} {'mean':>9s} {'sd':>8s} {'pull':>6s}")
        for n, tr, m, s in zip(NAMES, truth, mean, sd):
            print(f"   {n:10s} {tr:9.4g} {m:9.4g} {s:8.3g} {(m - tr) / s:6.2f}")


    print(f"\n4. emcee: 52 walkers (the paper's), {args.emcee_steps} steps from the MLE")
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        em = run_emcee(problem, args.seed, n_walkers=52, n_steps=args.emcee_steps, center=r.x)
    t_em = time.perf_counter() - t
    per_step = t_em / args.emcee_steps
    print(f"   MEASURED {t_em:8.1f} s = {per_step:.3f} s per step ({per_step / 52 * 1e3:.1f} ms per likelihood)")
    print(f"   EXTRAPOLATED: the paper's 52 x 12,000 steps would take {per_step * 12_000 / 3600:.1f} h here")
    if t_nuts is not None:
        print(f"   NUTS above: {t_nuts / 60:.1f} min, a ratio of {per_step * 12_000 / t_nuts:.0f}")
    del em


if __name__ == "__main__":
    main()
