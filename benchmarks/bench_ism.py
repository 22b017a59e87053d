"""Shearing-box particle-steps per second: diskorbits vs REBOUND's SEI, side by side.

Run:  python benchmarks/bench_ism.py [--n 50000] [--myr 50] [--dt 0.25]

Rows:

* ``diskorbits, ISM, cold``: the R8 mock field (sharp temporal spectrum, 16-pc
  grid) on a vertically cold ensemble, which stays in the mid-plane and uses the
  mid-plane field -- the paper's fiducial run (N = 50,000);
* ``diskorbits, ISM, sigma_z0=10``: the same with vertically warm stars, so the
  separable 3-D field (rank-6 vertical basis) and vertical forcing are used.
* ``diskorbits, no forcing``: the same integrator with :class:`NoForcing`.
* ``REBOUND SEI``: REBOUND's symplectic epicycle integrator with shear-periodic
  boundaries and test particles, no forces (its q = 3/2 is hard-wired) -- a lower
  bound on the cost of any forced run in REBOUND.

Particle-steps/s = N x steps / wall time, compilation excluded for diskorbits
(reported separately). The memory column is the resident-set growth of the run.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_diskorbits(n, myr, dt, forcing_kind, sigma_z0):
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from diskorbits.shearingbox.config import load_config
    from diskorbits.shearingbox.initial import schwarzschild_initial_conditions
    from diskorbits.shearingbox.integrator import integrate, steps_per_interval
    from diskorbits.shearingbox.run import build_forcing
    from diskorbits import units

    cfg = load_config({"run": {"n_stars": n, "dt_myr": dt}, "field": {"kind": forcing_kind},
                       "stars": {"sigma_R0_kms": 5.0, "sigma_z0_kms": sigma_z0}})
    box = cfg.box.build()
    key = jax.random.PRNGKey(0)
    rss0 = _rss_mb()
    forcing = build_forcing(cfg, box, key)
    state = schwarzschild_initial_conditions(box, n, sigma_R0=5 * units.KMS, sigma_z0=sigma_z0 * units.KMS, key=key)
    fstate = forcing.init(key)
    n_sub = steps_per_interval(1.0, dt)
    run = eqx.filter_jit(lambda b, f, s, fs, j0: integrate(b, f, s, fs, j0=j0, n_intervals=int(myr), n_sub=n_sub, dt_snap=1.0))
    t0 = time.perf_counter()
    out = run(box, forcing, state, fstate, jnp.int32(0))
    jax.block_until_ready(out)
    first = time.perf_counter() - t0
    best = np.inf
    for rep in range(2):
        t0 = time.perf_counter()
        out = run(box, forcing, out[0], out[1], jnp.int32((rep + 1) * int(myr)))
        jax.block_until_ready(out)
        best = min(best, time.perf_counter() - t0)
    steps = int(myr) * n_sub
    return n * steps / best, first - best, _rss_mb() - rss0


def bench_rebound(n, steps):
    import rebound

    sim = rebound.Simulation()
    sim.integrator = "sei"
    sim.OMEGA = 1.0
    sim.boundary = "shear"
    sim.gravity = "none"
    sim.collision = "none"
    sim.root_size = 1.0
    sim.N_root_x = sim.N_root_y = sim.N_root_z = 1
    sim.dt = 1e-3 * 2 * np.pi
    rng = np.random.default_rng(0)
    x = rng.uniform(-0.5, 0.5, n)
    y = rng.uniform(-0.5, 0.5, n)
    for i in range(n):
        sim.add(m=0.0, x=x[i], y=y[i], vx=rng.normal(0, 1e-3), vy=-1.5 * x[i] + rng.normal(0, 1e-3))
    sim.integrate(sim.t + 5 * sim.dt, exact_finish_time=0)  # warm-up
    t0 = time.perf_counter()
    sim.integrate(sim.t + steps * sim.dt, exact_finish_time=0)
    wall = time.perf_counter() - t0
    return n * steps / wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=50_000, help="test stars")
    ap.add_argument("--myr", type=float, default=50.0, help="simulated Myr per timed call")
    ap.add_argument("--dt", type=float, default=0.25, help="kick step, Myr")
    ap.add_argument("--rebound-steps", type=int, default=400)
    args = ap.parse_args()

    import jax

    print(f"N = {args.n}, dt = {args.dt} Myr, {args.myr:g} Myr per call, JAX devices: {jax.devices()}")
    rows = []
    for kind, sz, label in (
        ("mock", 0.0, "diskorbits, ISM, cold (mid-plane field)"),
        ("mock", 10.0, "diskorbits, ISM, sigma_z0=10 (3-D field)"),
        ("none", 10.0, "diskorbits, no forcing"),
    ):
        rate, compile_s, mem = bench_diskorbits(args.n, args.myr, args.dt, kind, sz)
        rows.append((label, rate, f"compile {compile_s:.1f} s, +{mem:.0f} MB RSS"))
    try:
        rb = bench_rebound(args.n, args.rebound_steps)
        rows.append(("REBOUND SEI (q = 3/2, no forces)", rb, "1 thread"))
    except ImportError:
        rb = None
        rows.append(("REBOUND SEI", float("nan"), "not installed (pip install rebound)"))
    print(f"{'code':40s} {'particle-steps/s':>17s} {'ratio to REBOUND':>17s}  notes")
    for label, rate, note in rows:
        ratio = rate / rb if rb else float("nan")
        print(f"{label:40s} {rate:17.3e} {ratio:17.2f}  {note}")


if __name__ == "__main__":
    main()
