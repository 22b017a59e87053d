"""Parameter recovery and coverage of the Frankel et al. (2020) fit on Table-1 mocks.

Usage::

    python scripts/validate_migration_recovery.py                 # 5 mocks of 7000 stars (~2-3 min each on 2 cores)
    python scripts/validate_migration_recovery.py --mocks 2 --n-stars 2000 --n-mc 40   # a quick look
    python scripts/validate_migration_recovery.py --nuts 300      # also a NUTS posterior on the first mock

For each mock (``configs/migration/mock_table1.toml`` -- APOGEE DR17-like
selection, the paper's noise, Table 1 truth -- with seeds 2020, 2021, ...):

1. draw the mock (cached in ``--cache``, so a re-run skips it);
2. build the likelihood (80 Monte Carlo samples per star, 10^5 survey-volume
   samples, as the paper);
3. maximise it (multi-start L-BFGS-B with the JAX gradient);
4. take the Laplace errors (the curvature of ln L at the maximum; the prior is flat);
5. record the pulls ``(MLE - truth) / sd`` per parameter.

Coverage is the share of pulls within 1 and 2 sd over all mocks and parameters
(for Gaussian errors 68% and 95%). With ``--nuts N`` the first mock is also
sampled with NUTS (``migration.inference.NUTS_DEFAULTS``: 2 chains, 100 warmup
steps, N draws, the dense Laplace metric) to check that the posterior widths are the Laplace
ones and to time a posterior run. Results go to ``--output`` (JSON, written
atomically with the configuration and seeds) and a table is printed.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "migration" / "mock_table1.toml"
DOCS = ROOT / "docs" / "validation"


def _mock(cfg, cache: pathlib.Path):
    from astropy.table import Table

    from diskorbits.migration import write_mock

    path = cache / f"mock_table1_seed{cfg.seed}_n{cfg.n_stars}.fits"
    if path.exists():
        return Table.read(path), 0.0
    t = time.perf_counter()
    table = cfg.make()
    write_mock(table, path, overwrite=True)
    return table, time.perf_counter() - t


def _one(seed: int, args) -> dict:
    from diskorbits.migration import NAMES, build_likelihood, fit, laplace_errors, load_mock_config, table1
    from diskorbits.migration.likelihood import LikelihoodWarning

    cfg = load_mock_config(CONFIG).replace(mock={"seed": seed, "n_stars": args.n_stars})
    mock, t_mock = _mock(cfg, args.cache)
    setup = cfg.setup(cfg.selection())
    t = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LikelihoodWarning)
        lik = build_likelihood(mock, setup, n_mc=args.n_mc, n_volume=args.n_volume, rng=seed)
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # start disagreements are recorded in the result
        res = fit(lik, sampler="none", mle_starts=args.starts, mle_options={"method": "l-bfgs-b"}, seed=seed)
    t_mle = time.perf_counter() - t
    best = res.mle_vector
    t = time.perf_counter()
    lap = laplace_errors(lik, best)
    sd = lap.sd
    t_laplace = time.perf_counter() - t
    truth = np.asarray(table1().to_vector())
    out = {
        "seed": seed,
        "n_stars": int(len(mock)),
        "log_likelihood": float(res.mle.log_likelihood),
        "start_values": [float(v) for v in np.asarray(res.mle.values)],
        "starts_agree": bool(res.mle.agree),
        "mle": dict(zip(NAMES, map(float, best))),
        "sd": dict(zip(NAMES, map(float, sd))),
        "pull": dict(zip(NAMES, map(float, (best - truth) / sd))),
        "laplace_positive_definite": lap.negative_definite,
        "likelihood_warnings": [str(w.message) for w in caught],
        "seconds": {"mock": t_mock, "likelihood": t_build, "mle": t_mle, "laplace": t_laplace},
        "n_evaluations": [int(n) for n in np.atleast_1d(res.mle.n_evaluations)],
    }
    if args.nuts and seed == args.seed:
        out["nuts"] = _nuts(lik, best, seed, args)
    return out


def _nuts(lik, best, seed, args) -> dict:
    from diskorbits.migration import NAMES, make_problem
    from diskorbits.migration.inference import NUTS_DEFAULTS
    from diskorbits.sampling import run_nuts

    problem = make_problem(lik)
    opts = {**NUTS_DEFAULTS, "n_draws": args.nuts}  # what `migration fit --sampler nuts` runs
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = run_nuts(problem, seed, init=best, chunk_size=50, progress=True, **opts)
    seconds = time.perf_counter() - t
    post = r.flat()
    d = r.diagnostics
    return {
        **{k: opts[k] for k in ("n_warmup", "n_draws", "n_chains")}, "seconds": seconds,
        "n_gradient_evaluations": int(r.meta["n_evaluations"]),
        "mean": dict(zip(NAMES, map(float, post.mean(0)))),
        "sd": dict(zip(NAMES, map(float, post.std(0)))),
        "rhat": dict(zip(NAMES, map(float, d.rhat))),
        "ess_bulk": dict(zip(NAMES, map(float, d.ess_bulk))),
        "divergences": int(np.sum(r.stats["divergent"])),
        "warnings": list(d.warnings),
    }  # fmt: skip


def _report(doc: dict):
    from diskorbits.migration import NAMES, UNITS, table1

    runs = doc["runs"]
    truth = np.asarray(table1().to_vector())
    print(f"\n{'parameter':10s} {'truth':>9s} " + " ".join(f"{'mock ' + str(r['seed']):>20s}" for r in runs) + "   (MLE +- Laplace sd)")
    for i, n in enumerate(NAMES):
        cells = " ".join(f"{r['mle'][n]:9.4g} +- {r['sd'][n]:8.2g}" for r in runs)
        print(f"{n:10s} {truth[i]:9.4g} {cells}  {UNITS[i]}")
    pulls = np.array([[r["pull"][n] for n in NAMES] for r in runs])
    ok = np.isfinite(pulls)
    print(f"\npulls (MLE - truth)/sd: mean {np.mean(pulls[ok]):+.2f}, rms {np.sqrt(np.mean(pulls[ok] ** 2)):.2f} over {ok.sum()} "
          f"(of {pulls.size}); within 1 sd: {doc['coverage']['within_1sd']:.0%}, within 2 sd: {doc['coverage']['within_2sd']:.0%}")  # fmt: skip
    worst = np.nanmax(np.abs(pulls), axis=0)
    print("largest |pull| per parameter: " + ", ".join(f"{n} {w:.1f}" for n, w in zip(NAMES, worst)))
    for r in runs:
        s = r["seconds"]
        print(f"mock {r['seed']}: mock {s['mock']:.0f} s, likelihood {s['likelihood']:.0f} s, MLE {s['mle']:.0f} s "
              f"({sum(r['n_evaluations'])} evaluations, starts agree: {r['starts_agree']}), Laplace {s['laplace']:.0f} s")  # fmt: skip
        if "nuts" in r:
            nu = r["nuts"]
            print(f"  NUTS {nu['n_chains']} chains x ({nu['n_warmup']} + {nu['n_draws']}): {nu['seconds']:.0f} s, "
                  f"max R-hat {max(nu['rhat'].values()):.3f}, min bulk ESS {min(nu['ess_bulk'].values()):.0f}, "
                  f"{nu['divergences']} divergences")  # fmt: skip
            for n in NAMES:
                print(f"    {n:10s} posterior {nu['mean'][n]:9.4g} +- {nu['sd'][n]:8.2g}   Laplace sd {r['sd'][n]:8.2g}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mocks", type=int, default=5, help="number of mocks (seeds --seed, --seed + 1, ...)")
    ap.add_argument("--seed", type=int, default=2020)
    ap.add_argument("--n-stars", type=int, default=7000)
    ap.add_argument("--n-mc", type=int, default=80)
    ap.add_argument("--n-volume", type=int, default=100_000)
    ap.add_argument("--starts", type=int, default=3, help="MLE starts per mock")
    ap.add_argument("--nuts", type=int, default=0, help="NUTS draws per chain on the first mock (0: none)")
    ap.add_argument("--cache", type=pathlib.Path, default=ROOT / "benchmarks" / "_mocks")
    ap.add_argument("--output", type=pathlib.Path, default=DOCS / "migration_recovery.json")
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)

    from diskorbits.io.atomic import atomic_write_text
    from diskorbits.migration import NAMES

    config = {k: (str(v) if isinstance(v, pathlib.Path) else v) for k, v in vars(args).items()}
    runs = []
    for seed in range(args.seed, args.seed + args.mocks):
        print(f"mock seed {seed} ...", flush=True)
        runs.append(_one(seed, args))
        pulls = np.array([[r["pull"][n] for n in NAMES] for r in runs])
        ok = np.isfinite(pulls)
        doc = {
            "config": config, "mock_config": str(CONFIG.relative_to(ROOT)), "runs": runs,
            "coverage": {
                "n_pulls": int(ok.sum()),
                "within_1sd": float(np.mean(np.abs(pulls[ok]) < 1.0)) if ok.any() else float("nan"),
                "within_2sd": float(np.mean(np.abs(pulls[ok]) < 2.0)) if ok.any() else float("nan"),
            },
        }  # fmt: skip
        atomic_write_text(args.output, json.dumps(doc, indent=1))  # after every mock, so an interrupted run keeps what it has
    _report(doc)
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
